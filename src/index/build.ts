/**
 * `indexFolder`: walks a folder and brings its index up to date — new and changed images
 * embedded, unchanged ones left alone, deleted ones removed, unreadable ones recorded as
 * skipped with the reason.
 *
 *   const report = await indexFolder("/photos", model, { db: "/photos/.koclip-index.db" });
 *   report   // { added: 120, updated: 0, unchanged: 3000, removed: 2, skipped: [...], seconds: 14.2 }
 *
 * Pipeline: files are prepared (read, hashed, decoded, thumbnailed, preprocessed) a batch at a
 * time; batch i+1's preparation is started before batch i goes through the model, so sharp's
 * decoding runs on libuv threads while libtorch runs the forward pass. Each batch is committed
 * in one transaction, which is what makes a killed run resumable (see store.ts).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import sharp from "sharp";
import { DEFAULT_MAX_PIXELS, decodeImage, ImageDecodeError, preprocessRawImage } from "../image/index.js";
import type { PretrainedModel } from "../models/pretrained.js";
import { Collection } from "./collection.js";
import { modelIdentity } from "./fingerprint.js";
import { IndexWriter, type BatchResult, type KnownFile } from "./store.js";
import { walkImages, type FoundFile } from "./walk.js";

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
  /** Images per forward pass (default 32). */
  batchSize?: number;
  onProgress?: (p: IndexProgress) => void;
  /** Rows from which the collection switches to HNSW (default 20,000); recorded in the index for its readers. */
  annThreshold?: number;
}

/** Longest side of stored thumbnails. */
export const THUMBNAIL_SIZE = 256;

/** A file ready for the model, or already finished (touched/skipped). */
type Prepared = BatchResult | { kind: "pixels"; file: FoundFile; hash: string; width: number; height: number; pixels: Float32Array; thumbnail: Buffer };

/**
 * Brings the index at `opts.db` up to date with `dir`. A different model than the one recorded
 * re-embeds everything: the old rows are dropped in one transaction first (`reembedded`).
 */
export async function indexFolder(dir: string, model: PretrainedModel, opts: IndexOptions): Promise<IndexReport> {
  const start = performance.now();
  const root = resolve(dir);
  const batchSize = opts.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const { files, ignored } = await walkImages(root);

  const writer = IndexWriter.open(opts.db);
  const report: IndexReport = { added: 0, updated: 0, unchanged: 0, removed: 0, skipped: [], seconds: 0, ignored, reembedded: 0 };
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
    const prepare = (batch: FoundFile[]) => prepareBatch(batch, known, model, maxPixels);
    let next = batches.length ? prepare(batches[0]!) : null;
    for (let b = 0; b < batches.length; b++) {
      const ready = await next!;
      next = b + 1 < batches.length ? prepare(batches[b + 1]!) : null; // decode ahead while the model runs
      const results = await embedBatch(ready, model, batchSize);
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

/** Prepares a batch with a few files in flight at once (each holds a decoded image). */
async function prepareBatch(batch: FoundFile[], known: Map<string, KnownFile>, model: PretrainedModel, maxPixels: number): Promise<Prepared[]> {
  const out: Prepared[] = new Array(batch.length);
  let next = 0;
  const worker = async () => {
    while (next < batch.length) {
      const i = next++;
      out[i] = await prepareFile(batch[i]!, known.get(batch[i]!.rel), model, maxPixels);
    }
  };
  await Promise.all(Array.from({ length: Math.min(batch.length, Math.max(2, availableParallelism())) }, worker));
  return out;
}

async function prepareFile(file: FoundFile, known: KnownFile | undefined, model: PretrainedModel, maxPixels: number): Promise<Prepared> {
  const base = { rel: file.rel, size: file.size, mtimeMs: file.mtimeMs };
  let bytes: Buffer;
  try {
    bytes = await readFile(file.abs);
  } catch (err) {
    return { kind: "skipped", ...base, reason: `unreadable: ${(err as Error).message}` };
  }
  // Size and mtime come from the walk; if the file changed since, the next run sees it again.
  const hash = createHash("sha256").update(bytes).digest("hex");
  if (known && known.hash === hash) return { kind: "touched", ...base };
  if (bytes.length === 0) return { kind: "skipped", ...base, reason: "unreadable: empty file" };
  try {
    const raw = await decodeImage(bytes, maxPixels);
    const thumbnail = await sharp(Buffer.from(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength), { raw: { width: raw.width, height: raw.height, channels: 3 } })
      .resize({ width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, fit: "inside", withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer();
    const { data } = preprocessRawImage(raw, model.imageConfig);
    return { kind: "pixels", file, hash, width: raw.width, height: raw.height, pixels: data, thumbnail };
  } catch (err) {
    const message = oneLine((err as Error).message.replace("buffer", file.rel));
    return { kind: "skipped", ...base, reason: `${err instanceof ImageDecodeError ? err.reason : "unreadable"}: ${message}` };
  }
}

/** libvips repeats its warnings over several lines: keep each distinct line once. */
function oneLine(message: string): string {
  return [...new Set(message.split("\n").map((l) => l.trim()).filter((l) => l !== ""))].join("; ");
}

/** Runs the batch's pixels through the model; finished entries pass through. */
async function embedBatch(batch: Prepared[], model: PretrainedModel, batchSize: number): Promise<BatchResult[]> {
  const withPixels = batch.filter((p): p is Extract<Prepared, { kind: "pixels" }> => p.kind === "pixels");
  let embeddings: Float32Array[] = [];
  if (withPixels.length) {
    const s = model.encoder.imageSize;
    const plane = 3 * s * s;
    const data = new Float32Array(withPixels.length * plane);
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
