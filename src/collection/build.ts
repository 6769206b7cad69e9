/**
 * `indexFolder`: walks a folder and brings its index up to date — new and changed images
 * embedded, unchanged ones left alone, deleted ones removed, unreadable ones recorded as
 * skipped with the reason.
 *
 *   const report = await indexFolder("/photos", model, { db: "/photos/.koclip-index.db" });
 *   report   // { added: 120, updated: 0, unchanged: 3000, removed: 2, skipped: [...], seconds: 14.2 }
 *
 * `indexFromEmbeddings` does the same with embeddings made earlier by `koclip embed --out`
 * (Parquet shards, see embedding_shards.ts): files are still read, hashed and thumbnailed, but
 * their vectors are looked up by path and sha256 instead of computed.
 *
 * Pipeline: files are prepared (read, hashed, decoded, thumbnailed, preprocessed) a batch at a
 * time by worker threads, one per core, each taking a slice of the batch (on this thread, a
 * forward pass would block the event loop and the resizes would wait for it). On a GPU the next
 * batch is prepared while the model runs. On the CPU it is not: libtorch's forward pass keeps
 * every core busy, and a preparing thread that takes a core from one of its OpenMP threads
 * stalls the others at the next barrier, so overlapping cost about twice the preparation's CPU
 * time (ViT-B/32 fp32 on 2 cores, batches of 32 JPEGs 640x480: 1.83 s each overlapped, against
 * 0.17 s preparing plus 1.37 s in the model in turns). Each batch is committed in one
 * transaction, which is what makes a killed run resumable (see store.ts).
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { DEFAULT_MAX_PIXELS, type ImageProcessorConfig } from "../image/index.js";
import type { PretrainedModel } from "../models/pretrained.js";
import { Collection } from "./collection.js";
import type { EmbeddingShards } from "./embedding_shards.js";
import { modelIdentity } from "./fingerprint.js";
import type { Decoded, Prepared, Preprocessing } from "./prepare.js";
import { checkBatchSize, chunks, encodeDecoded, forEachPrepared, MAX_PREPARE_WORKERS, PreparePool } from "./prepare_pool.js";
import { IndexWriter, type BatchResult } from "./store.js";
import { walkImages, type FoundFile } from "./walk.js";

export { THUMBNAIL_SIZE } from "./prepare.js";

export interface IndexProgress {
  /** Files looked at so far (of those that needed work). */
  done: number;
  total: number;
  added: number;
  updated: number;
  skipped: number;
  /** Images per second over this run. */
  rate: number;
}

export interface IndexReport {
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  skipped: { path: string; reason: string }[];
  seconds: number;
  /** Files without an image extension (not tried). */
  ignored: number;
  /** Images dropped up front because the index was made by another model (all re-embedded). */
  reembedded: number;
}

export interface IndexOptions {
  /** The index file (created if missing). */
  db: string;
  /** Recorded as the model's folder; default `model.dir`. */
  modelName?: string;
  /** Images with more pixels are skipped as too large (default 100 M). */
  maxPixels?: number;
  /** Images per forward pass (default: the model's imageBatchSize, 16 on the CPU). */
  batchSize?: number;
  onProgress?: (p: IndexProgress) => void;
  /** Rows from which the collection switches to HNSW (default 20,000); recorded in the index for its readers. */
  annThreshold?: number;
  /**
   * "reduced" (default): large JPEGs and WebPs are decoded at a reduced size, for embeddings
   * within cosine 0.999 of "exact", Pillow's pixels as `encodeImages` and evaluation use them.
   */
  preprocessing?: Preprocessing;
}

/** Where an index update gets its embeddings: a model run on the pixels, or vectors made earlier. */
interface EmbeddingSource {
  /** Recorded in the index: the model's folder and fingerprint. */
  model: string;
  fingerprint: string;
  embedDim: number;
  /** The model's preprocessing; null when no pixels are needed. */
  imageConfig: ImageProcessorConfig | null;
  batchSize: number;
  /** Prepare the next batch while this one is embedded (see the file comment). */
  overlap: boolean;
  /** An index made by another model: re-embed it all (a model), or refuse (fixed vectors cannot re-embed). */
  otherModel: "reembed" | "refuse";
  /** One embedding per decoded file, or the reason it has none. */
  embed(batch: Decoded[]): Promise<(Float32Array | string)[]>;
}

/**
 * Brings the index at `opts.db` up to date with `dir`. A different model than the one recorded
 * re-embeds everything: the old rows are dropped in one transaction first (`reembedded`).
 */
export async function indexFolder(dir: string, model: PretrainedModel, opts: IndexOptions): Promise<IndexReport> {
  const id = modelIdentity(model.dir);
  const batchSize = opts.batchSize ?? model.imageBatchSize;
  return updateIndex(dir, opts, {
    model: opts.modelName ?? id.model,
    fingerprint: id.fingerprint,
    embedDim: model.embedDim,
    imageConfig: model.imageConfig,
    batchSize,
    overlap: model.device.startsWith("cuda"),
    otherModel: "reembed",
    embed: (batch) => encodeDecoded(batch, model, batchSize),
  });
}

/**
 * Brings the index at `opts.db` up to date with `dir` from embeddings made earlier (Parquet
 * shards of `koclip embed --out`, or `koclip export parquet`), without running a model: each
 * file's vector is the shards' row with its path, used only when its sha256 is the file's.
 * Files without one are recorded as skipped with the reason; an index made by another model
 * is refused.
 *
 *   const shards = readEmbeddingShards("/scratch/emb");
 *   await indexFromEmbeddings("/photos", shards, { db: "/photos/.koclip-index.db" });
 */
export async function indexFromEmbeddings(dir: string, shards: EmbeddingShards, opts: IndexOptions): Promise<IndexReport> {
  return updateIndex(dir, opts, {
    model: opts.modelName ?? shards.model,
    fingerprint: shards.fingerprint,
    embedDim: shards.embedDim,
    imageConfig: null,
    batchSize: opts.batchSize ?? 64, // files per commit: no forward pass sets a size here
    overlap: false,
    otherModel: "refuse",
    embed: async (batch) =>
      batch.map((d) => {
        const row = shards.rows.get(d.file.rel);
        if (!row) return `not in the embeddings ${shards.dir} (added after koclip embed?); index it without --from-embeddings`;
        if (row.sha256 !== d.hash) return `changed since koclip embed (sha256 ${d.hash.slice(0, 12)}, the embeddings have ${row.sha256.slice(0, 12)}); index it without --from-embeddings`;
        return row.embedding;
      }),
  });
}

async function updateIndex(dir: string, opts: IndexOptions, source: EmbeddingSource): Promise<IndexReport> {
  const start = performance.now();
  const root = resolve(dir);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  checkBatchSize(source.batchSize);
  const walk = await walkImages(root);
  const files = walk.files;

  const writer = IndexWriter.open(opts.db);
  const report: IndexReport = { added: 0, updated: 0, unchanged: 0, removed: 0, skipped: [...walk.skipped], seconds: 0, ignored: walk.ignored, reembedded: 0 };
  let preparer: PreparePool | null = null; // started only when there is work (a re-run with none takes 0.1 s)
  try {
    const recorded = writer.recorded();
    if (source.otherModel === "refuse" && recorded.fingerprint !== undefined && recorded.images > 0 && recorded.fingerprint !== source.fingerprint) {
      throw new Error(`${opts.db} was made with model ${recorded.model} (fingerprint ${recorded.fingerprint}), the embeddings with fingerprint ${source.fingerprint}; use another --db`);
    }
    report.reembedded = writer.setModel(source.model, source.fingerprint, source.embedDim, root);
    if (opts.annThreshold !== undefined) writer.setAnnThreshold(opts.annThreshold);
    const known = writer.known();
    const present = new Set(files.map((f) => f.rel));
    // What was indexed under a folder this run could not read stays as it was, not removed.
    const underUnreadable = (rel: string) => walk.unreadableDirs.some((d) => rel.startsWith(d + "/"));
    for (const rel of known.keys()) if (underUnreadable(rel)) present.add(rel);
    report.removed = writer.removeMissing(present);
    const todo = files.filter((f) => {
      const k = known.get(f.rel);
      return !(k && k.size === f.size && k.mtimeMs === f.mtimeMs);
    });
    report.unchanged = files.length - todo.length;

    let done = 0;
    const progress = () => {
      const seconds = (performance.now() - start) / 1000;
      opts.onProgress?.({ done, total: todo.length, added: report.added, updated: report.updated, skipped: report.skipped.length, rate: seconds > 0 ? done / seconds : 0 });
    };
    progress();

    if (todo.length) preparer = new PreparePool(Math.min(availableParallelism(), MAX_PREPARE_WORKERS));
    const prepare = (batch: FoundFile[]) =>
      preparer!.prepare({
        files: batch,
        knownHashes: new Map(batch.flatMap((f) => (known.has(f.rel) ? [[f.rel, known.get(f.rel)!.hash]] : []))),
        imageConfig: source.imageConfig,
        thumbnails: true,
        maxPixels,
        preprocessing: opts.preprocessing ?? "reduced",
      });
    await forEachPrepared(chunks(todo, source.batchSize), prepare, async (ready) => {
      const results = await embedBatch(ready, source);
      writer.commit(results);
      for (const r of results) {
        if (r.kind === "embedded") known.has(r.rel) ? report.updated++ : report.added++;
        else if (r.kind === "touched") report.unchanged++;
        else report.skipped.push({ path: resolve(root, r.rel), reason: r.reason });
      }
      done += results.length;
      progress();
    }, source.overlap);
  } finally {
    writer.close();
    await preparer?.close();
  }
  // Bring the neighbour index (HNSW file when large) up to date now, not at the first query.
  const c = Collection.open(opts.db, { annThreshold: opts.annThreshold });
  try {
    c.ensureNeighbours();
  } finally {
    c.close();
  }
  report.seconds = (performance.now() - start) / 1000;
  return report;
}

/** Embeds the batch's decoded files; finished entries pass through. */
async function embedBatch(batch: Prepared[], source: EmbeddingSource): Promise<BatchResult[]> {
  const decoded = batch.filter((p): p is Decoded => p.kind === "decoded");
  const embeddings = await source.embed(decoded);
  let e = 0;
  return batch.map((p): BatchResult => {
    if (p.kind !== "decoded") return p;
    const { file, hash, width, height, thumbnail } = p;
    const embedding = embeddings[e++]!;
    const base = { rel: file.rel, size: file.size, mtimeMs: file.mtimeMs };
    if (typeof embedding === "string") return { kind: "skipped", ...base, reason: embedding };
    return { kind: "embedded", ...base, hash, width, height, embedding, thumbnail: thumbnail! };
  });
}
