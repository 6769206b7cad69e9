/**
 * The one interface every image–text model implements (open_clip's encode_image / encode_text /
 * forward). Evaluation, search, the server and the CLI depend only on this.
 */
import type { VarStore } from "../nn/index.js";
import type { Tensor } from "../torch/index.js";

/** Token ids and attention mask, both int64 [B, T]. */
export interface TextBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
}

/** What a tower returns before projection (Hugging Face's BaseModelOutputWithPooling). */
export interface TowerOutput {
  lastHiddenState: Tensor; // [B, T, width]
  pooledOutput: Tensor; // [B, width]
}

/** Forward pass of a dual encoder on a batch of matching (image, text) pairs. */
export interface DualEncoderOutput {
  imageEmbeds: Tensor; // [B, D], L2-normalised
  textEmbeds: Tensor; // [B, D], L2-normalised
  logitsPerImage: Tensor; // [B, B] = exp(logit_scale) · image · textᵀ
  logitsPerText: Tensor; // its transpose
  loss: Tensor; // symmetric contrastive loss (scalar)
}

export interface DualEncoder {
  /** Hugging Face model_type of the checkpoint this came from. */
  readonly modelType: string;
  /** Size of the shared embedding space. */
  readonly embedDim: number;
  /** Side of the square images the vision tower takes (its config's image_size). */
  readonly imageSize: number;
  /** Most tokens a text may have, special tokens included (the position table's size). */
  readonly maxTextLength: number;
  /** Every parameter by its checkpoint name. */
  readonly store: VarStore;
  /** Images [B, 3, H, W] (preprocessed) → embeddings [B, D]; L2-normalised unless normalize is false. */
  encodeImage(pixels: Tensor, opts?: { normalize?: boolean }): Tensor;
  /** Token batch → embeddings [B, D]; L2-normalised unless normalize is false. */
  encodeText(batch: TextBatch, opts?: { normalize?: boolean }): Tensor;
  /** The learned temperature, as stored (log scale). */
  logitScale(): Tensor;
  /** Embeddings, logits and loss for matching pairs (row i of images goes with row i of texts). */
  forward(pixels: Tensor, batch: TextBatch): DualEncoderOutput;
  /** Frees every parameter (when the model holds more than `store`; else `store.dispose()` does). */
  dispose?(): void;
}
