/**
 * Hugging Face Hub stand-ins for tests: a cache laid out as Python's huggingface_hub lays it out,
 * and a loopback HTTP server answering the requests `@huggingface/hub` makes (model info with the
 * commit and file list, and `resolve` URLs with their one-byte probe and Range requests).
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join, relative } from "node:path";

/** A fake commit hash derived from a label. */
export function commitOf(label: string): string {
  return createHash("sha1").update(label).digest("hex");
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Copies `files` of `srcDir` into `cacheDir` as huggingface_hub does: `blobs/SHA256` and relative
 * symlinks `snapshots/COMMIT/FILE` to them; `refs` maps revision names to this commit.
 */
export function layOutSnapshot(cacheDir: string, repo: string, commit: string, srcDir: string, opts: { refs?: string[]; files?: string[] } = {}): string {
  const repoDir = join(cacheDir, `models--${repo.replace("/", "--")}`);
  const snapshot = join(repoDir, "snapshots", commit);
  mkdirSync(join(repoDir, "blobs"), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  for (const name of opts.files ?? readdirSync(srcDir)) {
    const blob = join(repoDir, "blobs", sha256(readFileSync(join(srcDir, name))));
    copyFileSync(join(srcDir, name), blob);
    symlinkSync(relative(snapshot, blob), join(snapshot, name));
  }
  for (const ref of opts.refs ?? []) {
    mkdirSync(join(repoDir, "refs"), { recursive: true });
    writeFileSync(join(repoDir, "refs", ref), commit);
  }
  return snapshot;
}

/** A repo the fake Hub serves: the files of `dir` at `commit`, which `main` points to. */
export interface FakeRepo {
  repo: string;
  commit: string;
  dir: string;
  /** Requests without `Authorization: Bearer TOKEN` get 401, as a private repo does. */
  token?: string;
}

export interface FakeHub {
  url: string;
  /** Every request as "METHOD PATH [Range]". */
  log: string[];
  /** Cut the connection after this many body bytes on the next full or ranged GET of this file. */
  cutNext(file: string, afterBytes: number): void;
  close(): Promise<void>;
}

/** Starts the fake Hub on 127.0.0.1 at a free port. */
export async function startFakeHub(repos: FakeRepo[]): Promise<FakeHub> {
  const log: string[] = [];
  const cuts = new Map<string, number>();
  const byName = new Map(repos.map((r) => [r.repo, r]));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    const range = req.headers.range;
    log.push(`${req.method} ${url.pathname}${range ? ` ${range}` : ""}`);
    const info = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = byName.get((info ?? resolve)?.[1] ?? "");
    if (!repo) {
      res.writeHead(404, { "Content-Type": "application/json", "X-Error-Code": "RepoNotFound" }).end(JSON.stringify({ error: "Repository not found" }));
      return;
    }
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      res.writeHead(401, { "Content-Type": "application/json", "X-Error-Code": "RepoNotFound" }).end(JSON.stringify({ error: "Invalid username or password." }));
      return;
    }
    const revision = decodeURIComponent((info ?? resolve)![2]!);
    if (revision !== "main" && revision !== repo.commit) {
      res.writeHead(404, { "Content-Type": "application/json", "X-Error-Code": "RevisionNotFound" }).end(JSON.stringify({ error: `Invalid rev id: ${revision}` }));
      return;
    }
    const files = readdirSync(repo.dir).filter((f) => statSync(join(repo.dir, f)).isFile());
    if (info) {
      const body = { _id: commitOf(repo.repo).slice(0, 24), id: repo.repo, private: !!repo.token, sha: repo.commit, siblings: files.map((rfilename) => ({ rfilename })) };
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    const file = resolve![3]!;
    if (!files.includes(file)) {
      res.writeHead(404, { "Content-Type": "text/plain", "X-Error-Code": "EntryNotFound" }).end("Entry not found");
      return;
    }
    const bytes = readFileSync(join(repo.dir, file));
    // The Hub names LFS files by SHA-256 (X-Linked-Etag) and small git files by their git SHA-1.
    const lfs = file.endsWith(".safetensors");
    const etag = lfs ? sha256(bytes) : createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
    const headers: Record<string, string> = { "X-Repo-Commit": repo.commit, ETag: `"${etag}"`, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream" };
    if (lfs) headers["X-Linked-Etag"] = `"${etag}"`;
    let start = 0;
    let end = bytes.length - 1;
    const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (m) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), end) : end;
      headers["Content-Range"] = `bytes ${start}-${end}/${bytes.length}`;
    }
    const body = bytes.subarray(start, end + 1);
    headers["Content-Length"] = String(body.length);
    res.writeHead(m ? 206 : 200, headers);
    const cut = cuts.get(file);
    if (cut !== undefined && body.length > 1) {
      cuts.delete(file);
      // The pause lets the client take the bytes in before the connection drops, as on a real network.
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 100));
      return;
    }
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    cutNext: (file, afterBytes) => cuts.set(file, afterBytes),
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
