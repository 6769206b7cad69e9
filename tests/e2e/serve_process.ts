/**
 * A real `koclip serve` for tests: bin/koclip as a child process (so the launcher's allocator
 * policy applies) on 127.0.0.1 and a free port, with its RSS read from /proc and its stderr kept,
 * so tests can check that nothing was printed there but the start line.
 *
 *   const s = await startServe(["--db", dbFile, "--model", TINY_MODEL()]);
 *   await fetch(`${s.url}/api/status`);  s.rssBytes();  const { code, stderr } = await s.stop();
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/fixtures.js";

export interface ServeProcess {
  /** http://127.0.0.1:PORT */
  url: string;
  child: ChildProcess;
  /** Resident set size now, from /proc/PID/status. */
  rssBytes(): number;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Everything the server wrote to stdout (its --log lines) so far. */
  stdout(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<{ code: number | null; stderr: string }>;
}

/** Starts `bin/koclip serve --port 0 --host 127.0.0.1 ...args` and resolves once it listens. */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(join(REPO_ROOT, "bin", "koclip"), ["serve", "--port", "0", "--host", "127.0.0.1", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  let stdout = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const m = /koclip serve: (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) {
        child.stderr!.off("data", onData);
        child.off("exit", onExit);
        resolve(m[1]!);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`koclip serve exited ${code} before listening: ${stderr}`));
    child.stderr!.on("data", onData);
    child.on("exit", onExit);
  });
  return {
    url,
    child,
    rssBytes() {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      return Number(m![1]) * 1024;
    },
    stderr: () => stderr,
    stdout: () => stdout,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
      return { code: child.exitCode, stderr };
    },
  };
}
