/**
 * Encoding a dataset's images and texts in batches, reporting progress after each batch.
 * Evaluation code calls these rather than `model.encodeImages` so long runs show how far they got.
 */
import { ImageDecodeError } from "../image/index.js";
import type { PretrainedModel } from "../models/pretrained.js";
import { SILENT, type Progress, type ProgressFactory } from "./progress.js";

export interface EncodeRunOptions {
  /** Inputs per forward pass (default: the model's imageBatchSize and textBatchSize, 16 each on the CPU). */
  batchSize?: number;
  /** Called once with the number of inputs that will actually be encoded (none when it is 0). */
  progress?: ProgressFactory;
  /** Image rows by path: paths found here are not encoded again, new ones are added. */
  cache?: Map<string, Float32Array>;
}

async function inBatches<T>(items: readonly T[], batchSize: number, progress: Progress, encode: (batch: T[]) => Promise<Float32Array[]>): Promise<Float32Array[]> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const out: Float32Array[] = [];
  for (let i = 0; i < items.length; i += batchSize) {
    const batch = items.slice(i, i + batchSize);
    out.push(...(await encode(batch)));
    progress.tick(batch.length);
  }
  progress.done();
  return out;
}

/**
 * L2-normalised rows of image files, in order. With `cache` (one per model), images already
 * encoded, say by another dataset over the same files, are reused.
 */
export async function encodeImageFiles(model: PretrainedModel, paths: readonly string[], opts: EncodeRunOptions = {}): Promise<Float32Array[]> {
  const batchSize = opts.batchSize ?? model.imageBatchSize;
  const cache = opts.cache ?? new Map<string, Float32Array>();
  const missing = [...new Set(paths.filter((p) => !cache.has(p)))];
  const rows = await inBatches(missing, batchSize, progressFor(opts, "images", missing.length), (b) => model.encodeImages(b, { batchSize }));
  missing.forEach((p, i) => cache.set(p, rows[i]!));
  return paths.map((p) => cache.get(p)!);
}

/**
 * Encodes the images of `paths` not yet in `cache` into it, like encodeImageFiles, but an image
 * that cannot be decoded (not an image, truncated, over the pixel limit) is left out instead of
 * failing the run. Returns those images with the decoder's message. A batch holding one is
 * encoded again an image at a time, so good images cost one extra pass only in such batches.
 */
export async function cacheDecodableImages(model: PretrainedModel, paths: readonly string[], cache: Map<string, Float32Array>, opts: Omit<EncodeRunOptions, "cache"> = {}): Promise<Map<string, string>> {
  const batchSize = opts.batchSize ?? model.imageBatchSize;
  const missing = [...new Set(paths.filter((p) => !cache.has(p)))];
  const undecodable = new Map<string, string>();
  const encodeOne = async (p: string) => {
    try {
      cache.set(p, (await model.encodeImages([p]))[0]!);
    } catch (err) {
      if (!(err instanceof ImageDecodeError)) throw err;
      undecodable.set(p, err.message);
    }
  };
  await inBatches(missing, batchSize, progressFor(opts, "images", missing.length), async (batch) => {
    try {
      (await model.encodeImages(batch, { batchSize })).forEach((row, i) => cache.set(batch[i]!, row));
    } catch (err) {
      if (!(err instanceof ImageDecodeError)) throw err;
      for (const p of batch) await encodeOne(p);
    }
    return [];
  });
  return undecodable;
}

function progressFor(opts: EncodeRunOptions, label: string, total: number): Progress {
  return total > 0 && opts.progress ? opts.progress(label, total) : SILENT;
}

/** L2-normalised rows of texts, in order. */
export function encodeTextList(model: PretrainedModel, texts: readonly string[], opts: EncodeRunOptions = {}): Promise<Float32Array[]> {
  const batchSize = opts.batchSize ?? model.textBatchSize;
  return inBatches(texts, batchSize, progressFor(opts, "texts", texts.length), (b) => model.encodeTexts(b, { batchSize }));
}
