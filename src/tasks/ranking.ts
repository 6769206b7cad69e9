/**
 * Image–text retrieval metrics over L2-normalised embedding rows, with the conventions of
 * LAION's CLIP_benchmark (`clip_benchmark/metrics/zeroshot_retrieval.py`):
 *
 * - image→text Recall@k: an image is a hit if ANY of its captions is among its k best texts;
 * - text→image Recall@k: a text is a hit if its own image is among its k best images;
 * - recalls are fractions of images (image→text) or of texts (text→image).
 *
 * Ties. Scores that are exactly equal are ordered by index, lower index first, as a stable
 * descending sort would order them: the rank of candidate t is the number of candidates with a
 * strictly higher score plus the number of lower-indexed candidates with the same score. This
 * makes results deterministic (torch.topk, which CLIP_benchmark uses, leaves tie order
 * unspecified) and depends only on the order of the dataset's rows.
 *
 *   const r = recallAtK(imageRows, textRows, [0, 0, 1]);   // texts 0 and 1 describe image 0
 *   r.imageToText[1], r.textToImage[5]                     // fractions in [0, 1]
 */
import { tensor, tidy } from "../torch/index.js";

/** Recall@k per k, both directions, as fractions. */
export interface RecallResult {
  imageToText: Record<number, number>;
  textToImage: Record<number, number>;
}

/** The k values reported by default (CLIP_benchmark's). */
export const DEFAULT_KS = [1, 5, 10] as const;

/**
 * 0-based rank of `scores[target]` among `scores`, higher first; equal scores are ordered by
 * index (lower first). NaN scores never outrank anything.
 *
 *   rankOf([0.2, 0.9, 0.9, 0.1], 2)   // 2 (0.9 at index 1 comes first)
 */
export function rankOf(scores: ArrayLike<number>, target: number): number {
  const s = scores[target]!;
  let rank = 0;
  for (let j = 0; j < scores.length; j++) {
    const v = scores[j]!;
    if (v > s || (v === s && j < target)) rank++;
  }
  return rank;
}

/**
 * Dot products [a][b] of two sets of rows, computed with libtorch in row blocks so a large
 * evaluation never holds more than one block's intermediate tensors at once.
 */
export function similarityMatrix(a: Float32Array[], b: Float32Array[], blockRows = 1024): Float32Array[] {
  if (a.length === 0 || b.length === 0) return a.map(() => new Float32Array(b.length));
  const d = a[0]!.length;
  for (const [name, rows] of [["a", a], ["b", b]] as const) {
    const bad = rows.findIndex((r) => r.length !== d);
    if (bad >= 0) throw new Error(`similarityMatrix: ${name}[${bad}] has ${rows[bad]!.length} values, expected ${d}`);
  }
  const flat = (rows: Float32Array[]) => {
    const out = new Float32Array(rows.length * d);
    rows.forEach((r, i) => out.set(r, i * d));
    return out;
  };
  const bFlat = flat(b);
  const out: Float32Array[] = [];
  for (let i = 0; i < a.length; i += blockRows) {
    const block = a.slice(i, i + blockRows);
    const prod = tidy(() => {
      const bt = tensor(bFlat, { shape: [b.length, d] }).transpose(0, 1); // [D, Nb]
      return tensor(flat(block), { shape: [block.length, d] }).matmul(bt).contiguous().toFloat32Array(); // [block, Nb]
    });
    for (let r = 0; r < block.length; r++) out.push(prod.slice(r * b.length, (r + 1) * b.length));
  }
  return out;
}

function checkKs(ks: readonly number[]): void {
  if (ks.length === 0) throw new Error("no k values given");
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
}

/**
 * Recall@k from a score matrix `scores[image][text]`. `textToImage[t]` is the image that text t
 * describes. An image that owns no text counts as a miss for image→text.
 *
 *   recallFromScores([[0.9, 0.1], [0.2, 0.3]], [0, 1], [1])
 *   // { imageToText: { 1: 1 }, textToImage: { 1: 1 } }
 */
export function recallFromScores(scores: Float32Array[] | number[][], textToImage: readonly number[], ks: readonly number[] = DEFAULT_KS): RecallResult {
  checkKs(ks);
  const nImages = scores.length;
  const nTexts = textToImage.length;
  if (nImages === 0 || nTexts === 0) throw new Error(`retrieval needs at least one image and one text (got ${nImages} and ${nTexts})`);
  scores.forEach((row, i) => {
    if (row.length !== nTexts) throw new Error(`scores[${i}] has ${row.length} texts, textToImage has ${nTexts}`);
  });
  textToImage.forEach((img, t) => {
    if (!Number.isInteger(img) || img < 0 || img >= nImages) throw new Error(`textToImage[${t}] = ${img} is not an image index (0..${nImages - 1})`);
  });

  // image→text: the best (lowest) rank among the image's own captions.
  const captionsOf: number[][] = Array.from({ length: nImages }, () => []);
  textToImage.forEach((img, t) => captionsOf[img]!.push(t));
  // The caption that ranks best is the highest-scoring one, the earliest on ties (captionsOf
  // lists texts in index order), so only that one needs ranking: O(texts) per image.
  const imageRanks = captionsOf.map((own, i) => {
    if (own.length === 0) return Infinity;
    const row = scores[i]!;
    const best = own.reduce((b, t) => (row[t]! > row[b]! ? t : b));
    return rankOf(row, best);
  });

  // text→image: the rank of the text's image in the text's column.
  const column = new Float32Array(nImages);
  const textRanks = textToImage.map((img, t) => {
    for (let i = 0; i < nImages; i++) column[i] = scores[i]![t]!;
    return rankOf(column, img);
  });

  const recall = (ranks: number[], k: number) => ranks.filter((r) => r < k).length / ranks.length;
  return {
    imageToText: Object.fromEntries(ks.map((k) => [k, recall(imageRanks, k)])),
    textToImage: Object.fromEntries(ks.map((k) => [k, recall(textRanks, k)])),
  };
}

/**
 * Recall@k of L2-normalised image and text rows (cosine similarity = dot product).
 *
 *   const r = recallAtK(images, texts, textToImage);      // ks = [1, 5, 10]
 *   console.log(r.imageToText[1], r.textToImage[10]);
 */
export function recallAtK(imageEmb: Float32Array[], textEmb: Float32Array[], textToImage: readonly number[], ks: readonly number[] = DEFAULT_KS): RecallResult {
  if (textEmb.length !== textToImage.length) throw new Error(`${textEmb.length} text rows but ${textToImage.length} textToImage entries`);
  return recallFromScores(similarityMatrix(imageEmb, textEmb), textToImage, ks);
}
