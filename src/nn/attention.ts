/**
 * Multi-head scaled dot-product attention over already-projected queries, keys and values
 * ("Attention Is All You Need", §3.2.2). The projections differ per model family (CLIP's q_proj,
 * BERT's query), so families own those and share this.
 */
import { scaledDotProductAttention, type Tensor } from "../torch/index.js";

/** [B, T, H·D] → [B, H, T, D] */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, t, width] = x.shape as [number, number, number];
  return x.view([b, t, heads, width / heads]).transpose(1, 2);
}

/** [B, H, T, D] → [B, T, H·D] */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, t, d] = x.shape as [number, number, number, number];
  return x.transpose(1, 2).reshape([b, t, h * d]);
}

/**
 * softmax(q kᵀ / √d + mask) v per head. `mask` is boolean [B, 1, 1|T, T] (true = may attend) or
 * additive float; `causal` masks future positions (CLIP's text tower).
 */
export function multiHeadAttention(q: Tensor, k: Tensor, v: Tensor, heads: number, opts: { mask?: Tensor | null; causal?: boolean } = {}): Tensor {
  const out = scaledDotProductAttention(splitHeads(q, heads), splitHeads(k, heads), splitHeads(v, heads), opts.mask ?? null, 0, opts.causal ?? false);
  return mergeHeads(out);
}

/** Turns a [B, T] 0/1 attention mask into the boolean [B, 1, 1, T] key mask attention takes. */
export function keyPaddingMask(attentionMask: Tensor): Tensor {
  return attentionMask.ne(0).unsqueeze(1).unsqueeze(1);
}
