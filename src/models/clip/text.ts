/**
 * CLIP's text tower: a GPT-2-style causal transformer over byte-pair tokens with learned
 * positions, a final LayerNorm, and the hidden state at the end-of-text token as the sentence
 * feature.
 *
 * Paper: Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
 * Supervision", §2.4 ("the activations of the highest layer of the transformer at the [EOS] token
 * are treated as the feature representation of the text"; masked self-attention as in GPT-2).
 * Reference: transformers `src/transformers/models/clip/modeling_clip.py` (CLIPTextEmbeddings,
 * CLIPTextTransformer) at commit 000f1ffdbf1ce6190cc8863af9a2fff817590937.
 */
import { Embedding, keyPaddingMask, LayerNorm, normalInit, type VarBuilder } from "../../nn/index.js";
import { eye, ones, tidy, type Tensor } from "../../torch/index.js";
import type { TextBatch, TowerOutput } from "../dual_encoder.js";
import type { ClipTextConfig } from "./config.js";
import { ClipEncoder } from "./encoder.js";

/**
 * eos_token_id in configs saved before transformers PR #24773 (OpenAI's hub configs still carry
 * it). It is not CLIP's end-of-text id, so HF pools those models at the argmax of the ids instead.
 */
const LEGACY_EOS_TOKEN_ID = 2;

/** Token embedding plus a learned position embedding (HF's CLIPTextEmbeddings). */
export class ClipTextEmbeddings {
  readonly tokenEmbedding: Embedding;
  readonly positionEmbedding: Embedding;
  readonly maxPositions: number;

  constructor(vb: VarBuilder, cfg: ClipTextConfig) {
    const init = normalInit(0.02 * cfg.initializer_factor); // HF's _init_weights hard-codes 0.02 here
    this.tokenEmbedding = new Embedding(vb.pp("token_embedding"), cfg.vocab_size, cfg.hidden_size, { init });
    // Like the vision tower, we index the table directly rather than keep HF's `position_ids` buffer.
    this.positionEmbedding = new Embedding(vb.pp("position_embedding"), cfg.max_position_embeddings, cfg.hidden_size, { init });
    this.maxPositions = cfg.max_position_embeddings;
  }

  /** ids [B, T] → [B, T, D]. */
  forward(inputIds: Tensor): Tensor {
    const t = inputIds.size(1);
    if (t > this.maxPositions) {
      throw new Error(`CLIP text: sequence length ${t} exceeds max_position_embeddings ${this.maxPositions}`);
    }
    return this.tokenEmbedding.forward(inputIds).add(this.positionEmbedding.weight.narrow(0, 0, t)); // [T, D] broadcast over B
  }
}

/**
 * Who may attend to whom, boolean [B, 1, T, T]: causal (query i sees keys ≤ i) and never a padded
 * key, as HF's create_causal_mask combines them. A query with no key left (a pad before any real
 * token, i.e. left padding) would softmax to NaN and poison the gradients through its row, so it
 * attends to itself; with right padding, as CLIP's tokenizer pads, no row is empty.
 */
export function clipTextAttentionMask(attentionMask: Tensor): Tensor {
  const t = attentionMask.size(1);
  const device = attentionMask.device;
  const causal = ones([t, t], "bool", device).tril(); // [T, T]
  const allowed = causal.logicalAnd(keyPaddingMask(attentionMask)); // [B, 1, T, T]
  const empty = allowed.toDtype("int32").sumDim([-1], true).eq(0); // [B, 1, T, 1]
  return allowed.logicalOr(empty.logicalAnd(eye(t, "bool", device)));
}

/**
 * The CLIP text encoder (HF's CLIPTextTransformer). `lastHiddenState` is after
 * `final_layer_norm`; `pooledOutput` is its row at the first `eos_token_id` of each sequence (the
 * argmax of the ids for legacy configs with eos_token_id 2; see LEGACY_EOS_TOKEN_ID).
 *
 *   const text = new ClipTextTransformer(store.root.pp("text_model"), cfg.text_config);
 *   text.forward({ inputIds, attentionMask }).pooledOutput.shape   // [B, hidden_size]
 */
export class ClipTextTransformer {
  readonly embeddings: ClipTextEmbeddings;
  readonly encoder: ClipEncoder;
  readonly finalLayerNorm: LayerNorm;
  readonly config: ClipTextConfig;

  constructor(vb: VarBuilder, cfg: ClipTextConfig) {
    this.config = cfg;
    this.embeddings = new ClipTextEmbeddings(vb.pp("embeddings"), cfg);
    this.encoder = new ClipEncoder(vb.pp("encoder"), cfg);
    this.finalLayerNorm = new LayerNorm(vb.pp("final_layer_norm"), cfg.hidden_size, cfg.layer_norm_eps);
  }

  /** Width of `pooledOutput`. */
  get hiddenSize(): number {
    return this.config.hidden_size;
  }

  /** Token ids and mask [B, T] → hidden states [B, T, D] and the end-of-text feature [B, D]. */
  forward(batch: TextBatch): TowerOutput {
    return tidy(() => {
      const x = this.embeddings.forward(batch.inputIds);
      const h = this.encoder.forward(x, clipTextAttentionMask(batch.attentionMask));
      const lastHiddenState = this.finalLayerNorm.forward(h);
      return { lastHiddenState, pooledOutput: this.pool(lastHiddenState, batch.inputIds) };
    });
  }

  /** The row of `hidden` [B, T, D] at each sequence's end-of-text token → [B, D]. */
  private pool(hidden: Tensor, inputIds: Tensor): Tensor {
    const [b, , d] = hidden.shape as [number, number, number];
    // argmax returns the first maximum, so over a 0/1 mask it finds the first eos (pad may equal eos).
    const eosAt = this.config.eos_token_id === LEGACY_EOS_TOKEN_ID
      ? inputIds.argmax(-1)
      : inputIds.eq(this.config.eos_token_id).toDtype("int32").argmax(-1); // [B]
    const index = eosAt.view([b, 1, 1]).expand([b, 1, d]); // [B, 1, D]
    return hidden.gather(1, index).squeeze(1);
  }
}
