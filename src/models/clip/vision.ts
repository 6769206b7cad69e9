/**
 * CLIP's image tower: a Vision Transformer that cuts the image into patches, prepends a learned
 * class token, adds learned positions, normalises once before the encoder ("pre_layrnorm", the
 * one change from ViT) and pools the class token through a final LayerNorm.
 *
 * Paper: Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
 * Supervision", §2.4 (ViT of Dosovitskiy et al. 2020 with an extra layer norm before the encoder).
 * Reference: transformers `src/transformers/models/clip/modeling_clip.py` (CLIPVisionEmbeddings,
 * CLIPVisionTransformer) at commit 000f1ffdbf1ce6190cc8863af9a2fff817590937.
 *
 * Reusable on its own: KoCLIP builds it from `vb.pp("vision_model")` with its `vision_config`.
 */
import { Conv2d, Embedding, LayerNorm, normalInit, type VarBuilder } from "../../nn/index.js";
import { cat, tidy, type Tensor } from "../../torch/index.js";
import type { TowerOutput } from "../dual_encoder.js";
import type { ClipVisionConfig } from "./config.js";
import { ClipEncoder } from "./encoder.js";

/** Patch embedding (a stride-`patch_size` convolution without bias), class token and positions. */
export class ClipVisionEmbeddings {
  readonly classEmbedding: Tensor;
  readonly patchEmbedding: Conv2d;
  readonly positionEmbedding: Embedding;
  readonly imageSize: number;

  constructor(vb: VarBuilder, cfg: ClipVisionConfig) {
    const d = cfg.hidden_size;
    const f = cfg.initializer_factor;
    const numPositions = (cfg.image_size / cfg.patch_size) ** 2 + 1; // every patch plus the class token
    this.classEmbedding = vb.get([d], "class_embedding", normalInit(d ** -0.5 * f));
    this.patchEmbedding = new Conv2d(vb.pp("patch_embedding"), cfg.num_channels, d, cfg.patch_size, {
      stride: cfg.patch_size,
      bias: false,
      init: normalInit(cfg.initializer_range * f),
    });
    // HF keeps a non-persistent `position_ids` buffer (0..N) here; it is just arange, so we use the
    // whole table instead. Old checkpoints that saved the buffer are handled by the model loader.
    this.positionEmbedding = new Embedding(vb.pp("position_embedding"), numPositions, d, { init: normalInit(cfg.initializer_range * f) });
    this.imageSize = cfg.image_size;
  }

  /** pixels [B, C, H, W] → [B, 1 + (H/patch)·(W/patch), D]. */
  forward(pixels: Tensor): Tensor {
    const [b, , h, w] = pixels.shape as [number, number, number, number];
    if (h !== this.imageSize || w !== this.imageSize) {
      // HF interpolates positions only on request; without it a size mismatch is an error there too.
      throw new Error(`CLIP vision: input image size ${h}x${w} does not match the model's ${this.imageSize}x${this.imageSize}`);
    }
    const weight = this.patchEmbedding.weight;
    const x = pixels.dtype === weight.dtype ? pixels : pixels.toDtype(weight.dtype);
    const patches = this.patchEmbedding.forward(x) // [B, D, grid, grid]
      .flatten(2) // [B, D, grid²]
      .transpose(1, 2); // [B, grid², D]
    const d = patches.size(2);
    const cls = this.classEmbedding.expand([b, 1, d]); // [B, 1, D]
    return cat([cls, patches], 1).add(this.positionEmbedding.weight); // positions broadcast over B
  }
}

/**
 * The CLIP image encoder (HF's CLIPVisionTransformer). Its `lastHiddenState` is the encoder output
 * before `post_layernorm`, as in HF; `pooledOutput` is `post_layernorm` of the class token.
 *
 *   const vision = new ClipVisionTransformer(store.root.pp("vision_model"), cfg.vision_config);
 *   vision.forward(pixels).pooledOutput.shape   // [B, hidden_size]
 */
export class ClipVisionTransformer {
  readonly embeddings: ClipVisionEmbeddings;
  readonly preNorm: LayerNorm;
  readonly encoder: ClipEncoder;
  readonly postNorm: LayerNorm;
  readonly config: ClipVisionConfig;

  constructor(vb: VarBuilder, cfg: ClipVisionConfig) {
    this.config = cfg;
    this.embeddings = new ClipVisionEmbeddings(vb.pp("embeddings"), cfg);
    this.preNorm = new LayerNorm(vb.pp("pre_layrnorm"), cfg.hidden_size, cfg.layer_norm_eps); // sic: checkpoint spelling
    this.encoder = new ClipEncoder(vb.pp("encoder"), cfg);
    this.postNorm = new LayerNorm(vb.pp("post_layernorm"), cfg.hidden_size, cfg.layer_norm_eps);
  }

  /** Width of `pooledOutput` (what a projection on top takes in). */
  get hiddenSize(): number {
    return this.config.hidden_size;
  }

  /** Preprocessed images [B, C, image_size, image_size] → hidden states and the pooled class token. */
  forward(pixels: Tensor): TowerOutput {
    return tidy(() => {
      const x = this.preNorm.forward(this.embeddings.forward(pixels));
      const lastHiddenState = this.encoder.forward(x, null); // every patch sees every patch: no mask
      const pooledOutput = this.postNorm.forward(lastHiddenState.select(1, 0)); // [B, D], the class token
      return { lastHiddenState, pooledOutput };
    });
  }
}
