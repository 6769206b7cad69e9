/**
 * KoCLIP: a CLIP-style ViT image tower and a Korean RoBERTa text tower, each followed by a
 * bias-free projection into one embedding space, with a learned temperature, trained with CLIP's
 * symmetric contrastive loss on (image, Korean caption) pairs.
 *
 * Model: Hugging Face's VisionTextDualEncoderModel (the architecture of koclip-base-pt); the
 * recipe follows KoCLIP (jaketae/koclip, 2021) and CLIP (Radford et al. 2021, Fig. 3).
 * Reference: transformers `models/vision_text_dual_encoder/modeling_vision_text_dual_encoder.py`.
 *
 * Checkpoint names: `vision_model.*` (CLIP vision transformer), `text_model.*` (RoBERTa with
 * pooler), `visual_projection.weight`, `text_projection.weight`, `logit_scale`.
 */
import { Linear, normalInit, VarStore } from "../../nn/index.js";
import { ClipVisionTransformer } from "../clip/vision.js";
import { TwoTowerModel } from "../dual_encoder.js";
import { RobertaModel } from "../roberta/model.js";
import type { PositionIdsScheme } from "../roberta/config.js";
import { koclipPositionIds, type KoClipConfig } from "./config.js";

export class KoClipModel extends TwoTowerModel<ClipVisionTransformer, RobertaModel> {
  /** Loads every parameter by name from the store's source, or initialises it for training. */
  constructor(store: VarStore, readonly config: KoClipConfig, opts: { positionIds?: PositionIdsScheme } = {}) {
    const vb = store.root;
    const v = config.vision_config, t = config.text_config;
    const textModel = new RobertaModel(vb.pp("text_model"), t, { positionIds: opts.positionIds ?? koclipPositionIds(config) });
    super("vision-text-dual-encoder", store, {
      visionModel: new ClipVisionTransformer(vb.pp("vision_model"), v),
      textModel,
      visualProjection: new Linear(vb.pp("visual_projection"), v.hidden_size, config.projection_dim, { bias: false, init: normalInit(v.hidden_size ** -0.5), int8: false }),
      textProjection: new Linear(vb.pp("text_projection"), t.hidden_size, config.projection_dim, { bias: false, init: normalInit(t.hidden_size ** -0.5), int8: false }),
      logitScale: vb.get([], "logit_scale", { kind: "constant", value: config.logit_scale_init_value }),
      embedDim: config.projection_dim,
      imageSize: v.image_size,
      maxTextLength: textModel.maxSequenceLength,
    });
  }
}
