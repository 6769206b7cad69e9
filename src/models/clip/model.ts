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
import { buildStrict, TwoTowerModel } from "../dual_encoder.js";
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
 * HF's CLIPModel: CLIP's vision transformer and causal text transformer.
 *
 *   const model = ClipModel.fromSource(mapSource(readSafetensors(file)), cfg, { file });
 *   model.encodeText({ inputIds, attentionMask }).shape   // [B, projection_dim], unit rows
 */
export class ClipModel extends TwoTowerModel<ClipVisionTransformer, ClipTextTransformer> {
  /**
   * Builds every parameter at the store's root: loaded by name when the store has a source,
   * otherwise initialised roughly as HF's `_init_weights` does (normal with the config's stds).
   */
  constructor(store: VarStore, readonly config: ClipConfig) {
    const vb = store.root;
    const f = config.initializer_factor;
    const dv = config.vision_config.hidden_size, dt = config.text_config.hidden_size;
    super("clip", store, {
      visionModel: new ClipVisionTransformer(vb.pp("vision_model"), config.vision_config),
      textModel: new ClipTextTransformer(vb.pp("text_model"), config.text_config),
      visualProjection: new Linear(vb.pp("visual_projection"), dv, config.projection_dim, { bias: false, init: normalInit(dv ** -0.5 * f), int8: false }),
      textProjection: new Linear(vb.pp("text_projection"), dt, config.projection_dim, { bias: false, init: normalInit(dt ** -0.5 * f), int8: false }),
      logitScale: vb.get([], "logit_scale", { kind: "constant", value: config.logit_scale_init_value }),
      embedDim: config.projection_dim,
      imageSize: config.vision_config.image_size,
      maxTextLength: config.text_config.max_position_embeddings,
    });
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
    return buildStrict(VarStore.fromSource(source, opts), (store) => new ClipModel(store, cfg), isClipBuffer);
  }
}
