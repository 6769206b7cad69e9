/**
 * `indexFolder`: walks a folder and brings its index up to date — new and changed images
 * embedded, unchanged ones left alone, deleted ones removed, unreadable ones recorded as
 * skipped with the reason.
 *
 *   const report = await indexFolder("/photos", model, { db: "/photos/.koclip-index.db" });
 *   report   // { added: 120, updated: 0, unchanged: 3000, removed: 2, skipped: [...], seconds: 14.2 }
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
import { Worker } from "node:worker_threads";
import { DEFAULT_MAX_PIXELS, uninitializedFloat32 } from "../image/index.js";
import type { PretrainedModel } from "../models/pretrained.js";
import { Collection } from "./collection.js";
import { modelIdentity } from "./fingerprint.js";
import type { Prepared, PrepareRequest } from "./prepare.js";
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
}

/** Each worker holds its own V8 heap and sharp; past 8 the model, not preparation, is the limit. */
const MAX_PREPARE_WORKERS = 8;

/** A prepare worker (prepare_worker.ts): one request per slice of a batch, answered in any order. */
class PrepareWorker {
  readonly #worker = new Worker(new URL("./prepare_worker.js", import.meta.url));
  readonly #pending = new Map<number, { resolve: (p: Prepared[]) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  /** Set once the worker died: later requests fail at once instead of waiting forever. */
  #failure: Error | null = null;

  constructor() {
    this.#worker.on("message", (msg: { id: number; prepared?: Prepared[]; error?: string }) => {
      const p = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.error !== undefined || !msg.prepared) p?.reject(new Error(msg.error));
      // Buffers arrive as plain Uint8Arrays; SQLite wants Buffers.
      else p?.resolve(msg.prepared.map((r) => (r.kind === "pixels" ? { ...r, thumbnail: Buffer.from(r.thumbnail.buffer, r.thumbnail.byteOffset, r.thumbnail.byteLength) } : r)));
    });
    this.#worker.on("error", (err) => {
      this.#failure = err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    });
  }

  prepare(request: PrepareRequest): Promise<Prepared[]> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, request });
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/** One prepare worker per core; a batch is cut into contiguous slices, one per worker. */
class PreparePool {
  readonly #workers: PrepareWorker[];

  constructor(size: number) {
    this.#workers = Array.from({ length: Math.max(1, size) }, () => new PrepareWorker());
  }

  async prepare(request: PrepareRequest): Promise<Prepared[]> {
    const per = Math.ceil(request.files.length / this.#workers.length);
    const slices = this.#workers.flatMap((w, i) => {
      const files = request.files.slice(i * per, (i + 1) * per);
      return files.length ? [w.prepare({ ...request, files })] : [];
    });
    return (await Promise.all(slices)).flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.close()));
  }
}

/**
 * Brings the index at `opts.db` up to date with `dir`. A different model than the one recorded
 * re-embeds everything: the old rows are dropped in one transaction first (`reembedded`).
 */
export async function indexFolder(dir: string, model: PretrainedModel, opts: IndexOptions): Promise<IndexReport> {
  const start = performance.now();
  const root = resolve(dir);
  const batchSize = opts.batchSize ?? model.imageBatchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const { files, ignored } = await walkImages(root);

  const writer = IndexWriter.open(opts.db);
  const report: IndexReport = { added: 0, updated: 0, unchanged: 0, removed: 0, skipped: [], seconds: 0, ignored, reembedded: 0 };
  let preparer: PreparePool | null = null; // started only when there is work (a re-run with none takes 0.1 s)
  try {
    const id = modelIdentity(model.dir);
    report.reembedded = writer.setModel(opts.modelName ?? id.model, id.fingerprint, model.embedDim, root);
    if (opts.annThreshold !== undefined) writer.setAnnThreshold(opts.annThreshold);
    report.removed = writer.removeMissing(new Set(files.map((f) => f.rel)));
    const known = writer.known();
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

    const batches: FoundFile[][] = [];
    for (let i = 0; i < todo.length; i += batchSize) batches.push(todo.slice(i, i + batchSize));
    if (todo.length) preparer = new PreparePool(Math.min(availableParallelism(), MAX_PREPARE_WORKERS));
    const prepare = (files: FoundFile[]) =>
      preparer!.prepare({ files, knownHashes: new Map(files.flatMap((f) => (known.has(f.rel) ? [[f.rel, known.get(f.rel)!.hash]] : []))), imageConfig: model.imageConfig, maxPixels });
    const overlap = model.device.startsWith("cuda"); // see the file comment
    let next = batches.length ? prepare(batches[0]!) : null;
    for (let b = 0; b < batches.length; b++) {
      const ready = await next!;
      const prepareNext = () => (b + 1 < batches.length ? prepare(batches[b + 1]!) : null);
      if (overlap) next = prepareNext();
      const results = await embedBatch(ready, model, batchSize);
      if (!overlap) next = prepareNext();
      writer.commit(results);
      for (const r of results) {
        if (r.kind === "embedded") known.has(r.rel) ? report.updated++ : report.added++;
        else if (r.kind === "touched") report.unchanged++;
        else report.skipped.push({ path: resolve(root, r.rel), reason: r.reason });
      }
      done += results.length;
      progress();
    }
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

/** Runs the batch's pixels through the model; finished entries pass through. */
async function embedBatch(batch: Prepared[], model: PretrainedModel, batchSize: number): Promise<BatchResult[]> {
  const withPixels = batch.filter((p): p is Extract<Prepared, { kind: "pixels" }> => p.kind === "pixels");
  let embeddings: Float32Array[] = [];
  if (withPixels.length) {
    const s = model.encoder.imageSize;
    const plane = 3 * s * s;
    const data = uninitializedFloat32(withPixels.length * plane);
    withPixels.forEach((p, i) => {
      if (p.pixels.length !== plane) throw new Error(`${p.file.rel}: preprocessing gave ${p.pixels.length} values, the model takes 3x${s}x${s}`);
      data.set(p.pixels, i * plane);
    });
    embeddings = await model.encodeImages([{ data, shape: [withPixels.length, 3, s, s] }], { batchSize });
  }
  let e = 0;
  return batch.map((p): BatchResult => {
    if (p.kind !== "pixels") return p;
    const { file, hash, width, height, thumbnail } = p;
    return { kind: "embedded", rel: file.rel, size: file.size, mtimeMs: file.mtimeMs, hash, width, height, embedding: embeddings[e++]!, thumbnail };
  });
}
