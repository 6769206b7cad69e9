/**
 * CLIP: an image tower and a text tower, each followed by a bias-free linear projection into one
 * embedding space, compared by cosine similarity scaled by a learned temperature and trained with
 * the symmetric contrastive loss.
 *
 * Paper: Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
 * Supervision", §2.3–2.5 and Fig. 3.
 * Reference: transformers `src/transformers/models/clip/modeling_clip.py` (CLIPModel,
 * CLIPPreTrainedModel._init_weights) at commit 000f1ffdbf1ce6190cc8863af9a2fff817590937.
 *
 * Checkpoint names: `vision_model.*`, `text_model.*`, `visual_projection.weight`,
 * `text_projection.weight`, `logit_scale`.
 */
import { Linear, normalInit, VarStore, type TensorSource, type VarStoreOptions } from "../../nn/index.js";
import { tidy, type Tensor } from "../../torch/index.js";
import { contrastiveOutput, l2Normalize } from "../contrastive.js";
import type { DualEncoder, DualEncoderOutput, TextBatch } from "../dual_encoder.js";
import type { ClipConfig } from "./config.js";
import { ClipTextTransformer } from "./text.js";
import { ClipVisionTransformer } from "./vision.js";

/**
 * Checkpoint tensors a CLIP model deliberately does not load: the `position_ids` buffers
 * (arange(N), persistent=False since transformers 4.31, but present in older `.bin` and
 * safetensors files). They carry no learned state; we index the position tables directly.
 *
 *   isClipBuffer("text_model.embeddings.position_ids")   // true
 */
export function isClipBuffer(name: string): boolean {
  return /(^|\.)embeddings\.position_ids$/.test(name);
}

/**
 * HF's CLIPModel as a DualEncoder.
 *
 *   const model = ClipModel.fromSource(mapSource(readSafetensors(file)), cfg, { file });
 *   model.encodeText({ inputIds, attentionMask }).shape   // [B, projection_dim], unit rows
 */
export class ClipModel implements DualEncoder {
  readonly modelType = "clip";
  readonly embedDim: number;
  readonly imageSize: number;
  readonly maxTextLength: number;
  readonly store: VarStore;
  readonly config: ClipConfig;
  readonly visionModel: ClipVisionTransformer;
  readonly textModel: ClipTextTransformer;
  readonly visualProjection: Linear;
  readonly textProjection: Linear;
  readonly #logitScale: Tensor;

  /**
   * Builds every parameter at the store's root: loaded by name when the store has a source,
   * otherwise initialised roughly as HF's `_init_weights` does (normal with the config's stds).
   */
  constructor(store: VarStore, cfg: ClipConfig) {
    const vb = store.root;
    const f = cfg.initializer_factor;
    this.store = store;
    this.config = cfg;
    this.embedDim = cfg.projection_dim;
    this.imageSize = cfg.vision_config.image_size;
    this.maxTextLength = cfg.text_config.max_position_embeddings;
    this.visionModel = new ClipVisionTransformer(vb.pp("vision_model"), cfg.vision_config);
    this.textModel = new ClipTextTransformer(vb.pp("text_model"), cfg.text_config);
    const dv = cfg.vision_config.hidden_size, dt = cfg.text_config.hidden_size;
    this.visualProjection = new Linear(vb.pp("visual_projection"), dv, cfg.projection_dim, { bias: false, init: normalInit(dv ** -0.5 * f), int8: false });
    this.textProjection = new Linear(vb.pp("text_projection"), dt, cfg.projection_dim, { bias: false, init: normalInit(dt ** -0.5 * f), int8: false });
    this.#logitScale = vb.get([], "logit_scale", { kind: "constant", value: cfg.logit_scale_init_value });
  }

  /** A freshly initialised model for training from scratch (seed with manualSeed for repeatability). */
  static fresh(cfg: ClipConfig, opts: VarStoreOptions = {}): ClipModel {
    return new ClipModel(VarStore.fresh(opts), cfg);
  }

  /**
   * Loads strictly from `source`: every parameter must be there with the shape the config implies,
   * and every tensor in the source must be used, except the `position_ids` buffers (isClipBuffer).
   */
  static fromSource(source: TensorSource, cfg: ClipConfig, opts: VarStoreOptions = {}): ClipModel {
    const store = VarStore.fromSource(source, opts);
    try {
      const model = new ClipModel(store, cfg);
      store.assertAllUsed(isClipBuffer);
      return model;
    } catch (err) {
      store.dispose();
      throw err;
    }
  }

  /** Images [B, C, H, W] (preprocessed) → [B, projection_dim], L2-normalised unless normalize is false. */
  encodeImage(pixels: Tensor, opts: { normalize?: boolean } = {}): Tensor {
    return tidy(() => {
      const embeds = this.visualProjection.forward(this.visionModel.forward(pixels).pooledOutput);
      return opts.normalize === false ? embeds : l2Normalize(embeds);
    });
  }

  /** Token batch → [B, projection_dim], L2-normalised unless normalize is false. */
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
