/**
 * The CLIP transformer encoder, shared by the image and the text tower: a stack of pre-LayerNorm
 * residual blocks, each multi-head self-attention then a two-layer MLP.
 *
 * Paper: Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
 * Supervision" (§2.4; the blocks are GPT-2 / ViT style pre-norm transformer blocks).
 * Reference: transformers `src/transformers/models/clip/modeling_clip.py` (CLIPAttention, CLIPMLP,
 * CLIPEncoderLayer, CLIPEncoder) at commit 000f1ffdbf1ce6190cc8863af9a2fff817590937.
 *
 * Checkpoint names under the encoder: `layers.N.self_attn.{q,k,v,out}_proj`, `layers.N.layer_norm1`,
 * `layers.N.mlp.fc1`, `layers.N.mlp.fc2`, `layers.N.layer_norm2`.
 */
import { activateInPlace, LayerNorm, Linear, multiHeadAttention, normalInit, SharedInputLinears, type Activation, type VarBuilder } from "../../nn/index.js";
import { tidy, type Tensor } from "../../torch/index.js";
import type { ClipEncoderConfig } from "./config.js";

/**
 * Self-attention with separate q/k/v projections (HF's CLIPAttention). Scores are scaled by
 * 1/√head_dim, which is scaled-dot-product attention's default.
 */
export class ClipAttention {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  /** q, k and v projections from one product at int8 */
  readonly qkv: SharedInputLinears;
  readonly outProj: Linear;
  readonly heads: number;

  constructor(vb: VarBuilder, cfg: ClipEncoderConfig) {
    const d = cfg.hidden_size;
    // HF's _init_weights: inputs get d^-½·(2L)^-½ (GPT-2's depth scaling), the output d^-½; biases 0.
    const inStd = d ** -0.5 * (2 * cfg.num_hidden_layers) ** -0.5 * cfg.initializer_factor;
    const outStd = d ** -0.5 * cfg.initializer_factor;
    this.qProj = new Linear(vb.pp("q_proj"), d, d, { init: normalInit(inStd), int8: false });
    this.kProj = new Linear(vb.pp("k_proj"), d, d, { init: normalInit(inStd), int8: false });
    this.vProj = new Linear(vb.pp("v_proj"), d, d, { init: normalInit(inStd), int8: false });
    this.qkv = new SharedInputLinears(vb.store, [this.qProj, this.kProj, this.vProj]);
    this.outProj = new Linear(vb.pp("out_proj"), d, d, { init: normalInit(outStd) });
    this.heads = cfg.num_attention_heads;
  }

  /** x [B, T, D]; mask boolean [B, 1, 1|T, T] (true = may attend) or null → [B, T, D]. */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const [q, k, v] = this.qkv.forward(x) as [Tensor, Tensor, Tensor];
    const attended = multiHeadAttention(q, k, v, this.heads, { mask });
    return this.outProj.forward(attended);
  }
}

/** fc1 → activation → fc2 (HF's CLIPMLP). */
export class ClipMlp {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly act: Activation;

  constructor(vb: VarBuilder, cfg: ClipEncoderConfig) {
    const d = cfg.hidden_size;
    const fc1Std = (2 * d) ** -0.5 * cfg.initializer_factor;
    const fc2Std = d ** -0.5 * (2 * cfg.num_hidden_layers) ** -0.5 * cfg.initializer_factor;
    this.fc1 = new Linear(vb.pp("fc1"), d, cfg.intermediate_size, { init: normalInit(fc1Std) });
    this.fc2 = new Linear(vb.pp("fc2"), cfg.intermediate_size, d, { init: normalInit(fc2Std) });
    this.act = cfg.hidden_act;
  }

  forward(x: Tensor): Tensor {
    return this.fc2.forward(activateInPlace(this.act, this.fc1.forward(x)));
  }
}

/** One pre-norm residual block (HF's CLIPEncoderLayer). */
export class ClipEncoderLayer {
  readonly layerNorm1: LayerNorm;
  readonly selfAttn: ClipAttention;
  readonly layerNorm2: LayerNorm;
  readonly mlp: ClipMlp;

  constructor(vb: VarBuilder, cfg: ClipEncoderConfig) {
    this.layerNorm1 = new LayerNorm(vb.pp("layer_norm1"), cfg.hidden_size, cfg.layer_norm_eps);
    this.selfAttn = new ClipAttention(vb.pp("self_attn"), cfg);
    this.layerNorm2 = new LayerNorm(vb.pp("layer_norm2"), cfg.hidden_size, cfg.layer_norm_eps);
    this.mlp = new ClipMlp(vb.pp("mlp"), cfg);
  }

  /** x [B, T, D] → [B, T, D]. */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    // One scope per layer: its intermediates are freed before the next layer runs, so the next
    // layer's tensors reuse memory that is still in cache (a whole-tower scope halved CPU inference
    // speed). Autograd keeps what backward needs by itself.
    return tidy(() => {
      const a = x.add(this.selfAttn.forward(this.layerNorm1.forward(x), mask));
      return a.add(this.mlp.forward(this.layerNorm2.forward(a)));
    });
  }
}

/**
 * `num_hidden_layers` blocks in sequence (HF's CLIPEncoder). No final norm here: the vision tower
 * normalises only the pooled CLS token, the text tower the whole sequence.
 *
 *   const encoder = new ClipEncoder(vb.pp("encoder"), cfg);
 *   encoder.forward(x, null).shape   // [B, T, hidden_size]
 */
export class ClipEncoder {
  readonly layers: ClipEncoderLayer[];

  constructor(vb: VarBuilder, cfg: ClipEncoderConfig) {
    const layers = vb.pp("layers");
    this.layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => new ClipEncoderLayer(layers.pp(i), cfg));
  }

  forward(x: Tensor, mask: Tensor | null): Tensor {
    let h = x;
    for (const layer of this.layers) {
      const next = layer.forward(h, mask);
      if (h !== x) h.dispose(); // free each layer's output once the next has read it; x is the caller's
      h = next;
    }
    return h;
  }
}
