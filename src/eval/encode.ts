/**
 * Encoding a dataset's images and texts in batches, reporting progress after each batch.
 * Evaluation code calls these rather than `model.encodeImages` so long runs show how far they got.
 */
import type { PretrainedModel } from "../models/pretrained.js";
import { SILENT, type Progress } from "./progress.js";

export interface EncodeRunOptions {
  /** Inputs per forward pass (default 32 images, 64 texts). */
  batchSize?: number;
  progress?: Progress;
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

/** L2-normalised rows of image files, in order. */
export function encodeImageFiles(model: PretrainedModel, paths: readonly string[], opts: EncodeRunOptions = {}): Promise<Float32Array[]> {
  const batchSize = opts.batchSize ?? 32;
  return inBatches(paths, batchSize, opts.progress ?? SILENT, (b) => model.encodeImages(b, { batchSize }));
}

/** L2-normalised rows of texts, in order. */
export function encodeTextList(model: PretrainedModel, texts: readonly string[], opts: EncodeRunOptions = {}): Promise<Float32Array[]> {
  const batchSize = opts.batchSize ?? 64;
  return inBatches(texts, batchSize, opts.progress ?? SILENT, (b) => model.encodeTexts(b, { batchSize }));
}
