/**
 * The one interface every image–text model implements (open_clip's encode_image / encode_text /
 * forward). Evaluation, search, the server and the CLI depend only on this. TwoTowerModel is the
 * one implementation of CLIP's shape; M-CLIP (mclip/dual_encoder.ts) pairs towers from two folders.
 */
import type { Linear, VarStore } from "../nn/index.js";
import { tidy, type Tensor } from "../torch/index.js";
import { contrastiveOutput, l2Normalize } from "./losses/contrastive.js";

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

/** An image tower: preprocessed pixels [B, 3, H, W] → hidden states and a pooled feature per image. */
export interface ImageTower {
  forward(pixels: Tensor): TowerOutput;
}

/** A text tower: a token batch → hidden states and a pooled feature per text. */
export interface TextTower {
  forward(batch: TextBatch): TowerOutput;
}

/** The parts of a two-tower model, built by its family at the paths its checkpoint uses. */
export interface TwoTowerParts<V extends ImageTower, T extends TextTower> {
  visionModel: V;
  textModel: T;
  visualProjection: Linear;
  textProjection: Linear;
  /** The learned temperature, as stored (log scale, scalar). */
  logitScale: Tensor;
  embedDim: number;
  imageSize: number;
  maxTextLength: number;
}

/**
 * CLIP's shape of model: two towers, each followed by a projection into one embedding space, and a
 * learned temperature (open_clip's CLIP / CustomTextCLIP as one class). Families differ only in
 * their towers and the checkpoint paths they build them from (clip/model.ts, koclip/model.ts).
 */
export class TwoTowerModel<V extends ImageTower, T extends TextTower> implements DualEncoder {
  readonly embedDim: number;
  readonly imageSize: number;
  readonly maxTextLength: number;
  readonly visionModel: V;
  readonly textModel: T;
  readonly visualProjection: Linear;
  readonly textProjection: Linear;
  readonly #logitScale: Tensor;

  constructor(readonly modelType: string, readonly store: VarStore, parts: TwoTowerParts<V, T>) {
    this.visionModel = parts.visionModel;
    this.textModel = parts.textModel;
    this.visualProjection = parts.visualProjection;
    this.textProjection = parts.textProjection;
    this.#logitScale = parts.logitScale;
    this.embedDim = parts.embedDim;
    this.imageSize = parts.imageSize;
    this.maxTextLength = parts.maxTextLength;
  }

  /** Images [B, C, H, W] (preprocessed) → [B, D], L2-normalised unless normalize is false. */
  encodeImage(pixels: Tensor, opts: { normalize?: boolean } = {}): Tensor {
    return tidy(() => {
      const embeds = this.visualProjection.forward(this.visionModel.forward(pixels).pooledOutput);
      return opts.normalize === false ? embeds : l2Normalize(embeds);
    });
  }

  /** Token batch → [B, D], L2-normalised unless normalize is false. */
  encodeText(batch: TextBatch, opts: { normalize?: boolean } = {}): Tensor {
    return tidy(() => {
      const embeds = this.textProjection.forward(this.textModel.forward(batch).pooledOutput);
      return opts.normalize === false ? embeds : l2Normalize(embeds);
    });
  }

  /** The learned log temperature (the parameter itself, scalar). */
  logitScale(): Tensor {
    return this.#logitScale;
  }

  /** Normalised embeddings, logits exp(logit_scale)·cos and the symmetric loss for matching pairs. */
  forward(pixels: Tensor, batch: TextBatch): DualEncoderOutput {
    return tidy(() => contrastiveOutput(this.encodeImage(pixels), this.encodeText(batch), this.#logitScale));
  }
}

/**
 * `build(store)`, then the check that every checkpoint tensor was used (`isBuffer` names the ones
 * a model deliberately skips); the store is disposed when either fails, so a failed load frees
 * what it read.
 */
export function buildStrict<M>(store: VarStore, build: (store: VarStore) => M, isBuffer: (name: string) => boolean): M {
  try {
    const model = build(store);
    store.assertAllUsed(isBuffer);
    return model;
  } catch (err) {
    store.dispose();
    throw err;
  }
}
