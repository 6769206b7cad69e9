/**
 * Which process of a multi-process run this is, read the way torchrun hands it over (RANK,
 * WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so `torchrun --no-python ... koclip ...`
 * works unchanged; and a check that every rank was started with the same settings before any
 * of them writes output.
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface World {
  rank: number;
  worldSize: number;
  localRank: number;
  /** Where rank 0 listens (MASTER_ADDR:MASTER_PORT); unused when worldSize is 1. */
  masterAddr: string;
  masterPort: number;
}

/**
 * The world from the environment; without RANK and WORLD_SIZE, a single process (rank 0 of 1).
 *
 *   worldFromEnv({ RANK: "1", WORLD_SIZE: "2", MASTER_ADDR: "10.0.0.5", MASTER_PORT: "29500" })
 *   // { rank: 1, worldSize: 2, localRank: 1, masterAddr: "10.0.0.5", masterPort: 29500 }
 */
export function worldFromEnv(env: NodeJS.ProcessEnv = process.env): World {
  if (env.RANK === undefined && env.WORLD_SIZE === undefined) return { rank: 0, worldSize: 1, localRank: 0, masterAddr: "127.0.0.1", masterPort: 0 };
  const int = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined) throw new Error(`${name} is not set (RANK and WORLD_SIZE come together, as torchrun sets them)`);
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw new Error(`${name} must be an integer in ${min}..${max}, got '${raw}'`);
    return n;
  };
  const worldSize = int("WORLD_SIZE", 1);
  const rank = int("RANK", 0, worldSize - 1);
  const localRank = env.LOCAL_RANK === undefined ? rank : int("LOCAL_RANK", 0);
  if (worldSize === 1) return { rank, worldSize, localRank, masterAddr: "127.0.0.1", masterPort: 0 };
  const masterAddr = env.MASTER_ADDR;
  if (!masterAddr) throw new Error(`MASTER_ADDR is not set (rank 0's address, needed when WORLD_SIZE is ${worldSize})`);
  return { rank, worldSize, localRank, masterAddr, masterPort: int("MASTER_PORT", 1, 65535) };
}

interface Hello {
  rank: number;
  worldSize: number;
  settings: Record<string, string>;
}

/**
 * Resolves once every rank has checked in with the same `settings` (and world size); throws on
 * every rank when one differs, naming the rank and the setting. Rank 0 listens on MASTER_PORT,
 * the others connect to MASTER_ADDR:MASTER_PORT (retrying until rank 0 is up).
 *
 *   await agreeAcrossRanks(world, { "model fingerprint": "3f9c0a1e5b7d2c44" });
 *   // rank 1 with another model: Error "rank 1 was started with model fingerprint 1b2c..., rank 0 with 3f9c..."
 */
export async function agreeAcrossRanks(world: World, settings: Record<string, string>, timeoutMs = 300_000): Promise<void> {
  if (world.worldSize === 1) return;
  const hello: Hello = { rank: world.rank, worldSize: world.worldSize, settings };
  return world.rank === 0 ? collectHellos(world, hello, timeoutMs) : sendHello(world, hello, timeoutMs);
}

/** The first way `other` differs from rank 0's hello, as a sentence; null when it does not. */
function difference(mine: Hello, other: Hello, seen: Set<number>): string | null {
  if (other.worldSize !== mine.worldSize) return `rank ${other.rank} was started with WORLD_SIZE=${other.worldSize}, rank 0 with WORLD_SIZE=${mine.worldSize}`;
  if (!Number.isInteger(other.rank) || other.rank < 1 || other.rank >= mine.worldSize) return `a process says it is rank ${other.rank} of ${mine.worldSize}`;
  if (seen.has(other.rank)) return `two processes say they are rank ${other.rank}`;
  for (const key of new Set([...Object.keys(mine.settings), ...Object.keys(other.settings)])) {
    if (mine.settings[key] !== other.settings[key]) return `rank ${other.rank} was started with ${key} ${other.settings[key] ?? "(none)"}, rank 0 with ${mine.settings[key] ?? "(none)"}`;
  }
  return null;
}

function collectHellos(world: World, mine: Hello, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sockets: Socket[] = [];
    const seen = new Set<number>();
    const server = createServer();
    const finish = (error: string | null) => {
      clearTimeout(timer);
      for (const s of sockets) s.end(JSON.stringify(error ? { error } : { ok: true }) + "\n");
      server.close();
      if (error) reject(new Error(error));
      else resolve();
    };
    const timer = setTimeout(() => {
      const absent = Array.from({ length: world.worldSize - 1 }, (_, i) => i + 1).filter((r) => !seen.has(r));
      finish(`rank${absent.length > 1 ? "s" : ""} ${absent.join(", ")} did not check in at port ${world.masterPort} within ${timeoutMs / 1000} s`);
    }, timeoutMs);
    server.on("error", (err) => finish(`rank 0 cannot listen on port ${world.masterPort}: ${err.message}`));
    server.on("connection", (socket) => {
      sockets.push(socket);
      socket.on("error", () => {}); // a rank that died mid-handshake: its absence times out instead
      readLine(socket).then((line) => {
        let other: Hello;
        try {
          other = JSON.parse(line) as Hello;
        } catch {
          return finish(`a process at port ${world.masterPort} sent '${line.slice(0, 80)}', not a koclip rank's hello`);
        }
        const diff = difference(mine, other, seen);
        if (diff) return finish(diff);
        seen.add(other.rank);
        if (seen.size === world.worldSize - 1) finish(null);
      }, () => {});
    });
    server.listen(world.masterPort);
  });
}

async function sendHello(world: World, hello: Hello, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await new Promise<string | Error>((resolve) => {
      const socket = createConnection({ host: world.masterAddr, port: world.masterPort }, () => {
        socket.write(JSON.stringify(hello) + "\n");
        readLine(socket).then(resolve, resolve);
      });
      socket.on("error", (err) => resolve(err));
    });
    if (typeof reply === "string") {
      const answer = JSON.parse(reply) as { ok?: true; error?: string };
      if (answer.error !== undefined) throw new Error(answer.error);
      return;
    }
    // Rank 0 not listening yet: try again until the deadline.
    if (Date.now() > deadline) throw new Error(`rank 0 did not answer at ${world.masterAddr}:${world.masterPort} within ${timeoutMs / 1000} s (${reply.message})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The first line the socket sends. */
function readLine(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    socket.on("end", () => reject(new Error("connection closed before a full line")));
    socket.on("error", reject);
  });
}
