/**
 * CLIP's symmetric contrastive loss (Radford et al. 2021, Fig. 3; HF's clip_loss): scaled cosine
 * similarities both ways, the i-th image matching the i-th text, the mean of two cross-entropies.
 */
import { arange, type Tensor } from "../../torch/index.js";
import type { DualEncoderOutput } from "../dual_encoder.js";

/** x / ‖x‖₂ along the last dimension. */
export function l2Normalize(x: Tensor): Tensor {
  return x.div(x.norm(2, [-1], true));
}

/** Logits and loss from L2-normalised embeddings [B, D] and the log-scale temperature. */
export function contrastiveOutput(imageEmbeds: Tensor, textEmbeds: Tensor, logitScale: Tensor): DualEncoderOutput {
  const logitsPerText = textEmbeds.matmul(imageEmbeds.t()).mul(logitScale.exp()); // [B_text, B_image]
  const logitsPerImage = logitsPerText.t();
  const labels = arange(0, logitsPerText.size(0), 1, "int64", logitsPerText.device);
  const loss = logitsPerText.crossEntropy(labels).add(logitsPerImage.crossEntropy(labels)).div(2);
  return { imageEmbeds, textEmbeds, logitsPerImage, logitsPerText, loss };
}
