/**
 * Image–text retrieval on a pairs dataset: Recall@k both ways (`tasks/ranking.ts` has the
 * conventions). Each caption of a multi-caption row is a text of that row's image, and rows that
 * name the same image file are merged into one image with all their captions, so a dataset
 * written one caption per line scores the same as one written with `texts`.
 *
 *   const r = await evaluateRetrieval(model, readPairs("data/emoji/openmoji-pairs.jsonl"));
 *   r.imageToText[1], r.textToImage[5], r.images, r.texts
 */
import type { Dataset, PairRow } from "../data/datasets.js";
import type { PretrainedModel } from "../models/pretrained.js";
import { DEFAULT_KS, recallAtK, type RecallResult } from "../tasks/ranking.js";
import { encodeImageFiles, encodeTextList } from "./encode.js";
import type { ProgressFactory } from "./progress.js";

export interface RetrievalResult extends RecallResult {
  /** Distinct images. */
  images: number;
  /** Captions (every caption of every row). */
  texts: number;
}

/** The distinct images of a pairs dataset (first-appearance order), its texts, and each text's image. */
export function retrievalItems(rows: readonly PairRow[]): { images: string[]; texts: string[]; textToImage: number[] } {
  const imageIndex = new Map<string, number>();
  const texts: string[] = [];
  const textToImage: number[] = [];
  for (const row of rows) {
    let i = imageIndex.get(row.image);
    if (i === undefined) imageIndex.set(row.image, (i = imageIndex.size));
    for (const t of row.texts) {
      texts.push(t);
      textToImage.push(i);
    }
  }
  return { images: [...imageIndex.keys()], texts, textToImage };
}

export interface RetrievalOptions {
  ks?: readonly number[];
  batchSize?: number;
  progress?: ProgressFactory;
  /** Image rows by path, shared between evaluations of one model (see encodeImageFiles). */
  imageCache?: Map<string, Float32Array>;
}

/**
 * Image→text and text→image Recall@k (default k = 1, 5, 10) as fractions.
 *
 *   const r = await evaluateRetrieval(model, readPairs("pairs.jsonl"));
 *   console.log(r.imageToText[1], r.textToImage[1]);
 */
export async function evaluateRetrieval(model: PretrainedModel, dataset: Dataset<PairRow>, opts: RetrievalOptions = {}): Promise<RetrievalResult> {
  if (dataset.rows.length === 0) throw new Error(`${dataset.file}: no usable rows`);
  const items = retrievalItems(dataset.rows);
  const imageEmb = await encodeImageFiles(model, items.images, {
    batchSize: opts.batchSize,
    cache: opts.imageCache,
    progress: opts.progress,
  });
  const textEmb = await encodeTextList(model, items.texts, { progress: opts.progress });
  const recall = recallAtK(imageEmb, textEmb, items.textToImage, opts.ks ?? DEFAULT_KS);
  return { ...recall, images: items.images.length, texts: items.texts.length };
}
