/**
 * Sharded embedding: N processes (ranks) embed one folder together, each its own contiguous
 * slice of the sorted file list, each writing `part-RRRRR-of-WWWWW.parquet` (embeddings_parquet.ts).
 * The union of the parts is every image exactly once; `readEmbeddingShards` checks that before
 * anything uses them.
 *
 *   const plan = await planShard("/photos", "models/koclip-emoji", { rank: 1, worldSize: 2 });
 *   const report = await embedShard(plan, model, { out: "/scratch/emb" });
 *   // /scratch/emb/part-00001-of-00002.parquet: images 24..47 of 48
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_MAX_PIXELS } from "../image/index.js";
import type { PretrainedModel } from "../models/pretrained.js";
import { Collection } from "./collection.js";
import { readEmbeddingsParquet, writeEmbeddingsParquet, type EmbeddingRow, type SkippedFile } from "./embeddings_parquet.js";
import { modelIdentity } from "./fingerprint.js";
import type { Decoded } from "./prepare.js";
import { checkBatchSize, chunks, encodeDecoded, forEachPrepared, MAX_PREPARE_WORKERS, PreparePool } from "./prepare_pool.js";
import { listedImages, walkImages, type FoundFile } from "./walk.js";

/** `part-00001-of-00002.parquet`: rank 1 of 2. */
export function partName(rank: number, worldSize: number): string {
  return `part-${String(rank).padStart(5, "0")}-of-${String(worldSize).padStart(5, "0")}.parquet`;
}

const PART_FILE = /^part-(\d{5})-of-(\d{5})\.parquet$/;

/** The slice [start, end) of n items that `rank` of `worldSize` takes: contiguous, sizes differing by at most one. */
export function shardRange(n: number, rank: number, worldSize: number): { start: number; end: number } {
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`worldSize must be a positive integer, got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new RangeError(`rank must be an integer in 0..${worldSize - 1}, got ${rank}`);
  return { start: Math.floor((rank * n) / worldSize), end: Math.floor(((rank + 1) * n) / worldSize) };
}

/** What one rank will do; every rank of a run must have the same `agreement`. */
export interface ShardPlan {
  root: string;
  rank: number;
  worldSize: number;
  /** Every image of the folder, sorted (all ranks), and where this rank's slice starts and ends. */
  files: FoundFile[];
  start: number;
  end: number;
  model: string;
  modelFingerprint: string;
  /** sha256 of the sorted list of relative paths and sizes: ranks that see different folders differ here. */
  listDigest: string;
  /** What the ranks compare before any of them writes: model, folder contents, settings. */
  agreement: Record<string, string>;
}

/** 16 hex digits of sha256 over a sorted file list's relative paths and sizes. */
function fileListDigest(files: { rel: string; size: number }[]): string {
  return createHash("sha256").update(files.map((f) => `${f.rel}\0${f.size}`).join("\n")).digest("hex").slice(0, 16);
}

/**
 * Walks `root` (or takes the files `fileList` names, relative to it) and fingerprints the model
 * (without loading it), so ranks can compare their plans before the slow part. `settings`
 * (e.g. precision, max pixels) join the agreement.
 */
export async function planShard(root: string, modelDir: string, world: { rank: number; worldSize: number }, settings: Record<string, string> = {}, fileList?: string): Promise<ShardPlan> {
  const absRoot = resolve(root);
  const files = fileList === undefined ? (await walkImages(absRoot)).files : await listedImages(absRoot, fileList);
  const { start, end } = shardRange(files.length, world.rank, world.worldSize);
  const id = modelIdentity(modelDir);
  const listDigest = fileListDigest(files.map((f) => ({ rel: f.rel, size: f.size })));
  return {
    root: absRoot, rank: world.rank, worldSize: world.worldSize, files, start, end,
    model: id.model, modelFingerprint: id.fingerprint, listDigest,
    agreement: {
      "world size": String(world.worldSize),
      "model fingerprint": id.fingerprint,
      "image list (count:digest)": `${files.length}:${listDigest}`,
      ...settings,
    },
  };
}

/**
 * Refuses an output folder that holds parts of a run with another world size: their union
 * with this run's parts would count images twice or miss some.
 */
export function checkOutFolder(out: string, worldSize: number): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new Error(`${out} is a file; --out takes a folder`);
  for (const name of readdirSync(out)) {
    const m = PART_FILE.exec(name);
    if (m && Number(m[2]) !== worldSize) throw new Error(`${out} holds ${name}, from a run with ${Number(m[2])} ranks, and this run has ${worldSize}; use an empty --out`);
  }
}

export interface ShardReport {
  file: string;
  rows: number;
  skipped: SkippedFile[];
  seconds: number;
}

export interface EmbedShardOptions {
  out: string;
  batchSize?: number;
  maxPixels?: number;
  onProgress?: (done: number, total: number) => void;
  /** Threads that read and decode images (default: one per core, at most MAX_PREPARE_WORKERS). */
  prepareWorkers?: number;
}

/**
 * Embeds this rank's slice of the plan and writes it as `out/part-RRRRR-of-WWWWW.parquet`
 * (atomically). Row ids are positions in the sorted file list, so they are unique across
 * ranks. Unreadable images are listed in the file's metadata, not fatal.
 */
export async function embedShard(plan: ShardPlan, model: PretrainedModel, opts: EmbedShardOptions): Promise<ShardReport> {
  const started = performance.now();
  const batchSize = opts.batchSize ?? model.imageBatchSize;
  checkBatchSize(batchSize);
  const loaded = modelIdentity(model.dir).fingerprint;
  if (loaded !== plan.modelFingerprint) throw new Error(`the model loaded from ${model.dir} has fingerprint ${loaded}, the plan was made for ${plan.modelFingerprint}`);
  const mine = plan.files.slice(plan.start, plan.end);
  const idOf = new Map(mine.map((f, i) => [f.rel, plan.start + i]));
  const rows: EmbeddingRow[] = [];
  const skipped: SkippedFile[] = [];
  const preparer = mine.length ? new PreparePool(Math.min(opts.prepareWorkers ?? availableParallelism(), MAX_PREPARE_WORKERS)) : null;
  try {
    const prepare = (files: FoundFile[]) => preparer!.prepare({ files, knownHashes: new Map(), imageConfig: model.imageConfig, thumbnails: false, maxPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS, preprocessing: "exact" });
    await forEachPrepared(chunks(mine, batchSize), prepare, async (ready) => {
      const decoded = ready.filter((p): p is Decoded => p.kind === "decoded");
      const embeddings = await encodeDecoded(decoded, model, batchSize);
      decoded.forEach((d, i) => rows.push({ id: idOf.get(d.file.rel)!, path: d.file.rel, sha256: d.hash, embedding: embeddings[i]! }));
      for (const p of ready) if (p.kind === "skipped") skipped.push({ id: idOf.get(p.rel)!, path: p.rel, reason: p.reason });
      opts.onProgress?.(rows.length + skipped.length, mine.length);
    }, model.device.startsWith("cuda"));
  } finally {
    await preparer?.close();
  }
  mkdirSync(opts.out, { recursive: true });
  const file = join(opts.out, partName(plan.rank, plan.worldSize));
  rows.sort((a, b) => a.id - b.id);
  writeEmbeddingsParquet(file, rows, {
    model: plan.model, modelFingerprint: plan.modelFingerprint, embedDim: model.embedDim, root: plan.root,
    rank: plan.rank, worldSize: plan.worldSize, files: plan.files.length, listDigest: plan.listDigest, skipped,
  });
  return { file, rows: rows.length, skipped, seconds: (performance.now() - started) / 1000 };
}

/** A complete, consistent set of parts, ready to ingest. */
export interface EmbeddingShards {
  dir: string;
  model: string;
  fingerprint: string;
  embedDim: number;
  /** The folder the paths are relative to when they were embedded. */
  root: string;
  /** By relative path. */
  rows: Map<string, { id: number; sha256: string; embedding: Float32Array }>;
  skipped: SkippedFile[];
  parts: number;
}

/**
 * Reads every `part-*.parquet` in `dir` and checks that they form one run: all parts of the
 * same world size present, made by the same model from the same file list, every image in
 * exactly one of them. Any failure throws, naming the part and the difference.
 */
export function readEmbeddingShards(dir: string): EmbeddingShards {
  if (!existsSync(dir)) throw new Error(`${dir}: no such folder`);
  const names = readdirSync(dir).filter((n) => PART_FILE.test(n)).sort();
  if (names.length === 0) throw new Error(`${dir}: no part-RRRRR-of-WWWWW.parquet files (write them with koclip embed --images DIR --out ${dir})`);
  const worldSizes = new Set(names.map((n) => Number(PART_FILE.exec(n)![2])));
  if (worldSizes.size > 1) throw new Error(`${dir} mixes parts of runs with ${[...worldSizes].join(" and ")} ranks; keep one run's parts`);
  const worldSize = [...worldSizes][0]!;
  const missing = Array.from({ length: worldSize }, (_, r) => partName(r, worldSize)).filter((n) => !names.includes(n));
  if (missing.length) throw new Error(`${dir}: missing ${missing.join(", ")} (did that rank fail?)`);

  let first: ReturnType<typeof readEmbeddingsParquet>["meta"] | null = null;
  const rows: EmbeddingShards["rows"] = new Map();
  const ids = new Set<number>();
  const skipped: SkippedFile[] = [];
  for (const name of names) {
    const { rows: partRows, meta } = readEmbeddingsParquet(join(dir, name));
    const rank = Number(PART_FILE.exec(name)![1]);
    if (meta.rank !== rank || meta.worldSize !== worldSize) throw new Error(`${name} says it is rank ${meta.rank} of ${meta.worldSize}; was it renamed?`);
    first ??= meta;
    const differs = ([["model fingerprint", meta.modelFingerprint, first.modelFingerprint], ["embedding width", meta.embedDim, first.embedDim], ["image list", `${meta.files}:${meta.listDigest}`, `${first.files}:${first.listDigest}`]] as const)
      .find(([, mine, theirs]) => mine !== theirs);
    if (differs) throw new Error(`${name} was made with ${differs[0]} ${differs[1]}, ${names[0]} with ${differs[2]}: the parts come from different runs`);
    for (const r of partRows) {
      if (rows.has(r.path) || ids.has(r.id)) throw new Error(`${name}: image ${r.path} (id ${r.id}) is also in another part`);
      rows.set(r.path, { id: r.id, sha256: r.sha256, embedding: r.embedding });
      ids.add(r.id);
    }
    skipped.push(...meta.skipped);
  }
  const accounted = rows.size + skipped.length;
  if (accounted !== first!.files) throw new Error(`${dir}: the parts hold ${accounted} of the run's ${first!.files} images`);
  return { dir, model: first!.model, fingerprint: first!.modelFingerprint, embedDim: first!.embedDim, root: first!.root, rows, skipped, parts: worldSize };
}

/**
 * Writes an index's images and embeddings as `out/part-00000-of-00001.parquet`, in the layout
 * `koclip embed --out` writes (ids are the index's image ids). Returns the file and row count.
 *
 *   exportIndexParquet("/photos/.koclip-index.db", "/tmp/export")   // { file: "/tmp/export/part-00000-of-00001.parquet", rows: 1234 }
 */
export function exportIndexParquet(db: string, out: string): { file: string; rows: number } {
  const c = Collection.open(db, { readonly: true });
  try {
    const status = c.status();
    if (status.images === 0 || status.modelFingerprint === null || status.embedDim === null) throw new Error(`${db}: the index has no images to export`);
    const images = c.list();
    const rows = images.map((img): EmbeddingRow => ({ id: img.id, path: img.relPath, sha256: img.hash, embedding: c.embedding(img.id)! }));
    const listDigest = fileListDigest(images.map((i) => ({ rel: i.relPath, size: i.size })));
    mkdirSync(out, { recursive: true });
    checkOutFolder(out, 1);
    const file = join(out, partName(0, 1));
    writeEmbeddingsParquet(file, rows, {
      model: status.model ?? "", modelFingerprint: status.modelFingerprint, embedDim: status.embedDim, root: status.root ?? "",
      rank: 0, worldSize: 1, files: rows.length, listDigest, skipped: [],
    });
    return { file, rows: rows.length };
  } finally {
    c.close();
  }
}
