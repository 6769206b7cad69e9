/**
 * Starts N local ranks of a koclip command the way torchrun does (`koclip train --nproc N`): each
 * child runs the same command line with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
 * MASTER_ADDR and MASTER_PORT set, and a 1/N share of the cores for libtorch's threads. Rank 0's
 * stdout is the command's; every rank's stderr passes through. When a rank fails, the others get
 * the process-group timeout to notice and exit on their own, then are terminated.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { setNumThreads, worldFromEnv, type World } from "../torch/index.js";
import { UsageError } from "./command.js";

export interface LocalLaunch {
  nproc: number;
  /** The child's command line after `node main.js` (the sub-command and its flags, without --nproc). */
  args: string[];
  /** How long the surviving ranks get to exit on their own (printing their own error) after one fails. */
  graceMs: number;
  log?: (line: string) => void;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function describeExit(rank: number, code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `rank ${rank} was killed by ${signal}` : `rank ${rank} exited with status ${code}`;
}

/**
 * Runs `nproc` ranks on this machine and resolves to the job's exit status: 0 when every rank
 * succeeded, else the first failing rank's status (1 for a signal).
 */
export async function launchLocal({ nproc, args, graceMs, log = console.error }: LocalLaunch): Promise<number> {
  const masterPort = process.env.MASTER_PORT ? Number(process.env.MASTER_PORT) : await freePort();
  const threads = Math.max(1, Math.floor(availableParallelism() / nproc));
  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  let status = 0;
  let failedAt: number | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  const forward = (signal: NodeJS.Signals) => () => children.forEach((c) => c.exitCode === null && c.kill(signal));
  const onInt = forward("SIGINT"), onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  for (let rank = 0; rank < nproc; rank++) {
    const env = {
      ...process.env, RANK: String(rank), WORLD_SIZE: String(nproc), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(nproc),
      MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(masterPort), KOCLIP_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads),
    };
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], { env, stdio: ["ignore", rank === 0 ? "inherit" : "ignore", "inherit"] });
    children.push(child);
    exits.push(new Promise((resolve) => child.on("exit", (code, signal) => {
      if (code !== 0 && failedAt === null) {
        failedAt = Date.now();
        status = code ?? 1;
        log(`koclip: ${describeExit(rank, code, signal)}; waiting up to ${Math.round(graceMs / 1000)} s for the other ranks to stop`);
        killTimer = setTimeout(() => {
          for (const [r, c] of children.entries()) {
            if (c.exitCode === null && c.signalCode === null) {
              log(`koclip: rank ${r} did not stop; terminating it`);
              c.kill("SIGTERM");
            }
          }
        }, graceMs);
      }
      resolve();
    })));
  }
  await Promise.all(exits);
  if (killTimer) clearTimeout(killTimer);
  process.off("SIGINT", onInt);
  process.off("SIGTERM", onTerm);
  return status;
}

/**
 * `koclip COMMAND … --nproc N` with N > 1: the same command line (less --nproc) as N local ranks.
 * Local peers see a dead rank's connections close at once and fail within seconds (naming it);
 * a rank stuck elsewhere (say, talking to a foreign server on MASTER_PORT) is given at most 10 s.
 */
export function relaunchAsRanks(command: string, argv: string[], nproc: number, timeoutS: number): Promise<number> {
  const world = worldFromEnv();
  if (world.worldSize > 1) throw new UsageError(`--nproc ${nproc} inside a launched job (WORLD_SIZE=${world.worldSize} is set): use one or the other`);
  const args = [command, ...argv.filter((a, i) => a !== "--nproc" && argv[i - 1] !== "--nproc" && !a.startsWith("--nproc="))];
  return launchLocal({ nproc, args, graceMs: Math.min(timeoutS * 1000, 10_000) });
}

/**
 * This rank's share of the machine's cores: ranks on one machine split them (torchrun sets
 * LOCAL_WORLD_SIZE). libtorch's threads take the share in a multi-rank job unless
 * KOCLIP_NUM_THREADS says otherwise.
 */
export function shareCores(world: World): number {
  const share = Math.max(1, Math.floor(availableParallelism() / world.localWorldSize));
  if (world.worldSize > 1 && !process.env.KOCLIP_NUM_THREADS) setNumThreads(share);
  return share;
}
