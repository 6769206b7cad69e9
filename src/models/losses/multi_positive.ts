/**
 * The symmetric contrastive loss with multi-positives. CLIP's loss treats every off-diagonal pair
 * as a negative; when a batch holds two captions "고양이" or two images of one emoji, that teaches
 * the model to push apart things that are the same. Here every pair in the same group (same
 * concept key, or identical caption text) is a positive, and each row's target is spread evenly
 * over its positives; with no duplicates this is exactly CLIP's loss.
 */
import { tensor, type Tensor } from "../../torch/index.js";

/** Row-normalised positive matrix [B, B] from group ids and caption strings. */
export function positiveTargets(groups: string[], texts: string[]): Float32Array {
  const n = groups.length;
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (let j = 0; j < n; j++) {
      if (i === j || groups[i] === groups[j] || texts[i] === texts[j]) {
        m[i * n + j] = 1;
        count++;
      }
    }
    for (let j = 0; j < n; j++) m[i * n + j]! /= count;
  }
  return m;
}

/** mean over rows of −Σⱼ targets·log softmax(logits) */
function softCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  return logits.logSoftmax(-1).mul(targets).sumDim([1]).mean().neg();
}

/**
 * ½ (CE(image→text) + CE(text→image)) with soft targets. The positive relation is symmetric,
 * so the same target matrix serves both directions.
 */
export function multiPositiveLoss(logitsPerImage: Tensor, groups: string[], texts: string[]): Tensor {
  const n = groups.length;
  const targets = tensor(positiveTargets(groups, texts), { shape: [n, n], device: logitsPerImage.device });
  const logits = logitsPerImage.toDtype("float32");
  return softCrossEntropy(logits, targets).add(softCrossEntropy(logits.t(), targets)).div(2);
}
