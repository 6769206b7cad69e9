/**
 * Models named by Hugging Face id (`ORG/NAME`, `ORG/NAME@REV`): found in the Hugging Face cache that
 * Python's `huggingface_hub` fills, else downloaded into that same cache with `@huggingface/hub`.
 *
 *   await resolveModelPath("models/koclip-emoji");        // a folder: returned as it is
 *   await resolveModelPath("openai/clip-vit-base-patch32"); // ~/.cache/huggingface/hub/models--openai--clip-vit-base-patch32/snapshots/3d74…
 *
 * Cache layout (huggingface_hub's `file_download.py`): `models--ORG--NAME/refs/REV` holds the commit
 * a branch or tag pointed to, `snapshots/COMMIT/FILE` is a relative symlink to `blobs/ETAG`, and a
 * blob being downloaded is `blobs/ETAG.incomplete`. A download here fetches only what koclip reads
 * (JSON, text and sentencepiece files at the top level and one weights format), resumes a partial
 * blob with a Range request, checks an LFS blob's SHA-256 before renaming it into place, links a
 * snapshot file only once its blob is complete, and writes `refs/REV` last, so a snapshot that a
 * later run finds through the ref is complete.
 */
import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, fstatSync, openSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { pipeline } from "node:stream/promises";
import { writeAll, writeFileAtomic } from "../formats/file_io.js";
import { CHECKPOINT_FILES } from "./checkpoint.js";

/** Where and how to reach the Hub; every field defaults from the environment as huggingface_hub's does. */
export interface HubOptions {
  /** The cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** The Hub's base URL: $HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** An access token (hf_…) for private or gated repos: $HF_TOKEN, else the file $HF_HOME/token. */
  token?: string;
  /** Never touch the network (HF_HUB_OFFLINE=1): a model not in the cache is an error. */
  offline?: boolean;
  /** Where download progress goes: stderr unless HF_HUB_DISABLE_PROGRESS_BARS=1; false for none. */
  progress?: ProgressStream | false;
  /** The fetch the Hub client uses (tests count requests through it). */
  fetch?: typeof fetch;
}

/** Anything with write() and an optional isTTY, like process.stderr. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** A model repo and the revision asked for (a branch, tag or commit). */
export interface RepoRef {
  repo: string;
  revision: string;
}

const COMMIT = /^[0-9a-f]{40}$/;
// Hub names: letters, digits, '-', '_', '.', no leading '-' or '.', as huggingface_hub's validate_repo_id.
const NAME = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}";
const REPO_REF = new RegExp(`^(${NAME}/${NAME})(?:@([^@\\s]+))?$`);
// Files a model folder needs besides weights: configs, tokenizers (tokenizer.json, vocab.txt,
// merges.txt, sentencepiece.bpe.model), preprocessing. Weights come from CHECKPOINT_FILES.
const SIDE_FILE = /^[^/]+\.(json|txt|model)$/;
const PROGRESS_BYTES_MIN = 1 << 20;

function envFlag(v: string | undefined): boolean {
  return v !== undefined && ["1", "true", "yes", "on"].includes(v.toLowerCase());
}

function hfHome(env: NodeJS.ProcessEnv): string {
  return env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
}

/** The options with each unset field taken from the environment. */
export function hubSettings(opts: HubOptions = {}, env: NodeJS.ProcessEnv = process.env): Required<Omit<HubOptions, "token" | "fetch">> & Pick<HubOptions, "token" | "fetch"> {
  let token = opts.token ?? env.HF_TOKEN;
  if (token === undefined) {
    const file = env.HF_TOKEN_PATH ?? join(hfHome(env), "token");
    if (existsSync(file)) token = readFileSync(file, "utf8").trim() || undefined;
  }
  return {
    cacheDir: opts.cacheDir ?? env.HF_HUB_CACHE ?? join(hfHome(env), "hub"),
    endpoint: (opts.endpoint ?? env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, ""),
    token,
    offline: opts.offline ?? envFlag(env.HF_HUB_OFFLINE),
    progress: opts.progress ?? (envFlag(env.HF_HUB_DISABLE_PROGRESS_BARS) ? false : process.stderr),
    fetch: opts.fetch,
  };
}

/**
 * `ORG/NAME` or `ORG/NAME@REV` → the repo and revision (main by default), or null for anything else.
 *
 *   parseRepoRef("koclip/koclip-base-pt@v1")  // { repo: "koclip/koclip-base-pt", revision: "v1" }
 */
export function parseRepoRef(spec: string): RepoRef | null {
  const m = REPO_REF.exec(spec);
  // A revision becomes a path under refs/, so no '..' segment may climb out of it.
  if (!m || m[1]!.includes("..") || m[1]!.includes("--") || m[2]?.split("/").some((seg) => seg === ".." || seg === "")) return null;
  return { repo: m[1]!, revision: m[2] ?? "main" };
}

/** The repo's folder in the cache: `models--ORG--NAME`. */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, `models--${repo.split("/").join("--")}`);
}

/**
 * A model folder's name for people: `ORG/NAME` for a snapshot in the Hugging Face cache (whose own
 * name is a commit hash), else the folder's name.
 *
 *   modelLabel("/root/.cache/huggingface/hub/models--koclip--koclip-base-pt/snapshots/3d74…")  // "koclip/koclip-base-pt"
 */
export function modelLabel(dir: string): string {
  const m = /(?:^|[\\/])models--([^\\/]+?)--([^\\/]+)[\\/]snapshots[\\/][0-9a-f]{40}[\\/]?$/.exec(dir);
  return m ? `${m[1]}/${m[2]}` : basename(dir);
}

/** The commit a revision names in the cache (itself if it is a commit hash), or null if no ref was recorded. */
function cachedCommit(repoDir: string, revision: string): string | null {
  if (COMMIT.test(revision)) return revision;
  const ref = join(repoDir, "refs", revision);
  if (!existsSync(ref)) return null;
  const commit = readFileSync(ref, "utf8").trim();
  return COMMIT.test(commit) ? commit : null;
}

/** The weights files present in a folder (a link to a missing blob is not present). */
function weightsIn(dir: string): string | null {
  for (const [, name] of CHECKPOINT_FILES) if (existsSync(join(dir, name))) return name;
  return null;
}

/**
 * The cached snapshot folder for a repo and revision, if it holds config.json and weights; null if the
 * cache has nothing for it. A snapshot that lacks one of them is an error naming the repo and the file.
 */
export function findCachedSnapshot(ref: RepoRef, cacheDir: string): string | null {
  const commit = cachedCommit(repoCacheDir(cacheDir, ref.repo), ref.revision);
  if (commit === null) return null;
  const dir = join(repoCacheDir(cacheDir, ref.repo), "snapshots", commit);
  if (!existsSync(dir)) return null;
  const where = `${ref.repo}@${ref.revision} in the Hugging Face cache (${dir})`;
  if (!existsSync(join(dir, "config.json"))) throw new MissingCachedFile(`${where}: config.json is missing`);
  if (weightsIn(dir) === null) throw new MissingCachedFile(`${where}: no weights file (looked for ${CHECKPOINT_FILES.map(([, n]) => n).join(", ")})`);
  return dir;
}

/** A cached snapshot lacks a file koclip needs; online, the download fills it in. */
class MissingCachedFile extends Error {}

/**
 * A local folder of that path, else the snapshot of a Hugging Face id in the cache, else the id
 * downloaded into the cache. Errors are one line naming the repo, the revision and the file.
 */
export async function resolveModelPath(spec: string, opts: HubOptions = {}): Promise<string> {
  if (existsSync(spec)) return spec;
  const ref = parseRepoRef(spec);
  if (ref === null) return spec; // not an id: the folder loader reports the missing folder
  const settings = hubSettings(opts);
  let missing: MissingCachedFile | null = null;
  try {
    const cached = findCachedSnapshot(ref, settings.cacheDir);
    if (cached !== null) return cached;
  } catch (err) {
    if (!(err instanceof MissingCachedFile)) throw err;
    missing = err;
  }
  if (settings.offline) {
    if (missing) throw new Error(`${missing.message}, and HF_HUB_OFFLINE=1 forbids downloading it`);
    throw new Error(`${spec}: no such folder, and ${ref.repo}@${ref.revision} is not in the Hugging Face cache ${settings.cacheDir} (HF_HUB_OFFLINE=1 forbids downloading it)`);
  }
  return downloadSnapshot(ref, settings);
}

type Settings = ReturnType<typeof hubSettings>;

/** Downloads what koclip reads of a repo at a revision into the cache; returns the snapshot folder. */
export async function downloadSnapshot(ref: RepoRef, settings: Settings): Promise<string> {
  const label = `${ref.repo}@${ref.revision}`;
  // Loaded here, not at the top: every command imports this file, few of them download.
  const hub = await import("@huggingface/hub");
  const client = { hubUrl: settings.endpoint, accessToken: settings.token, fetch: settings.fetch ?? fetch };
  let info: { sha?: string; filePaths?: string[] };
  try {
    info = await hub.modelInfo({ ...client, name: ref.repo, revision: ref.revision, additionalFields: ["sha", "filePaths"] });
  } catch (err) {
    throw new Error(`${label}: not a local folder, and the Hub at ${settings.endpoint} does not give it (${(err as Error).message})`);
  }
  const commit = info.sha;
  if (!commit || !COMMIT.test(commit)) throw new Error(`${label}: the Hub at ${settings.endpoint} gave no commit hash for this revision`);
  const files = info.filePaths ?? [];
  const weights = CHECKPOINT_FILES.map(([, n]) => n).find((n) => files.includes(n));
  if (!weights) throw new Error(`${label}: the repo has no weights file koclip reads (looked for ${CHECKPOINT_FILES.map(([, n]) => n).join(", ")}; it has ${files.join(", ") || "no files"})`);
  const repoDir = repoCacheDir(settings.cacheDir, ref.repo);
  const snapshot = join(repoDir, "snapshots", commit);
  const fetchFile = (path: string) => cacheFile(hub, { ...client, repo: ref.repo, commit, path, repoDir, progress: settings.progress, label });
  for (const path of files.filter((f) => SIDE_FILE.test(f))) await fetchFile(path);
  if (weights !== "model.safetensors.index.json") await fetchFile(weights);
  else for (const shard of shardsOf(join(snapshot, weights))) await fetchFile(shard);
  if (ref.revision !== commit) {
    mkdirSync(join(repoDir, "refs", dirname(ref.revision)), { recursive: true });
    writeFileAtomic(join(repoDir, "refs", ref.revision), (fd: number) => writeAll(fd, Buffer.from(commit)));
  }
  return snapshot;
}

/** The shard files a sharded safetensors index names. */
function shardsOf(indexFile: string): string[] {
  const index = JSON.parse(readFileSync(indexFile, "utf8")) as { weight_map?: Record<string, string> };
  return [...new Set(Object.values(index.weight_map ?? {}))];
}

/**
 * The fetch for file bodies: the client's WebBlob.stream() never ends its stream when the GET gets an
 * error status, so the fetch itself fails instead.
 */
function failingFetch(inner: typeof fetch): typeof fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status} from ${String(input instanceof Request ? input.url : input)}`);
    }
    return res;
  };
}

interface CacheFileParams {
  repo: string;
  commit: string;
  path: string;
  repoDir: string;
  hubUrl: string;
  accessToken?: string;
  fetch: typeof fetch;
  progress: ProgressStream | false;
  label: string;
}

/** One file into `blobs/ETAG` (resuming a partial download) and linked from `snapshots/COMMIT/PATH`. */
async function cacheFile(hub: typeof import("@huggingface/hub"), p: CacheFileParams): Promise<void> {
  const pointer = join(p.repoDir, "snapshots", p.commit, p.path);
  if (existsSync(pointer)) return;
  const where = `${p.label}: ${p.path}`;
  const client = { repo: p.repo, path: p.path, revision: p.commit, hubUrl: p.hubUrl, accessToken: p.accessToken, fetch: p.fetch };
  const info = await hub.fileDownloadInfo(client).catch((err: Error) => {
    throw new Error(`${where}: ${err.message}`);
  });
  if (!info) throw new Error(`${where}: not found on the Hub at ${p.hubUrl}`);
  // huggingface_hub's _normalize_etag: the blob name is the ETag without W/ and quotes.
  const etag = info.etag.replace(/^W\//, "").replace(/"/g, "");
  if (!/^[0-9a-f]{40,64}$/.test(etag)) throw new Error(`${where}: unexpected ETag ${info.etag}`);
  const blob = join(p.repoDir, "blobs", etag);
  mkdirSync(dirname(blob), { recursive: true });
  if (!existsSync(blob) || statSync(blob).size !== info.size) {
    const partial = `${blob}.incomplete`;
    let have = existsSync(partial) ? statSync(partial).size : 0;
    if (have > info.size) {
      truncateSync(partial, 0);
      have = 0;
    }
    if (have < info.size) {
      const source = await hub.downloadFile({ ...client, fetch: failingFetch(p.fetch), downloadInfo: info });
      if (!source) throw new Error(`${where}: not found on the Hub at ${p.hubUrl}`);
      const progress = byteProgress(p.progress, `${p.label} ${p.path}`, info.size, have);
      // Each chunk goes to disk as it arrives, so an interruption keeps what came and a rerun resumes after it.
      const fd = openSync(partial, "a");
      try {
        for await (const chunk of source.slice(have).stream() as unknown as AsyncIterable<Uint8Array>) {
          writeAll(fd, chunk);
          progress.tick(chunk.byteLength);
        }
      } catch (err) {
        throw new Error(`${where}: download interrupted at ${fstatSync(fd).size} of ${info.size} bytes (${(err as Error).message}); run again to resume`);
      } finally {
        closeSync(fd);
        progress.done();
      }
    }
    const got = statSync(partial).size;
    if (got !== info.size) throw new Error(`${where}: downloaded ${got} bytes, the Hub says ${info.size}; run again to resume`);
    // An LFS file's ETag is the SHA-256 of its bytes: check it, so a corrupt blob never gets a name.
    if (etag.length === 64) {
      const sha = await sha256File(partial);
      if (sha !== etag) {
        rmSync(partial);
        throw new Error(`${where}: the download's SHA-256 ${sha} is not the Hub's ${etag}; the partial file was removed, run again`);
      }
    }
    renameSync(partial, blob);
  }
  mkdirSync(dirname(pointer), { recursive: true });
  const tmp = `${pointer}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(relative(dirname(pointer), blob), tmp);
  renameSync(tmp, pointer);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/**
 * Bytes downloaded on one line: redrawn in place on a terminal, every 10% on a pipe. (The item
 * counter in eval/progress.ts is a layer above models/, which cannot import it.)
 */
function byteProgress(stream: ProgressStream | false, label: string, total: number, start: number): { tick(n: number): void; done(): void } {
  if (stream === false || total < PROGRESS_BYTES_MIN) return { tick() {}, done() {} };
  const t0 = performance.now();
  const mb = (n: number) => (n / 1e6).toFixed(1);
  let count = start;
  let lastDraw = -Infinity;
  let lastDecile = Math.floor((10 * start) / total);
  const line = () => {
    const secs = (performance.now() - t0) / 1000;
    const rate = secs > 0 ? `${mb((count - start) / secs)} MB/s` : "-";
    return `${label} ${mb(count)}/${mb(total)} MB (${((100 * count) / total).toFixed(1)}%) ${rate}`;
  };
  return {
    tick(n) {
      count += n;
      if (stream.isTTY) {
        if (performance.now() - lastDraw < 100) return;
        lastDraw = performance.now();
        stream.write(`\r${line()}\x1b[K`);
      } else if (Math.floor((10 * count) / total) > lastDecile) {
        lastDecile = Math.floor((10 * count) / total);
        stream.write(line() + "\n");
      }
    },
    done() {
      if (stream.isTTY) stream.write(`\r${line()}\x1b[K\n`);
    },
  };
}
