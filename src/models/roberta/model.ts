/**
 * RoBERTa / XLM-RoBERTa / BERT text encoder: token + position + segment embeddings, then a stack
 * of post-LayerNorm Transformer encoder layers, then an optional tanh pooler on the first token.
 *
 * Papers: BERT (Devlin et al., 2018, arXiv:1810.04805); RoBERTa (Liu et al., 2019,
 * arXiv:1907.11692); XLM-R (Conneau et al., 2019, arXiv:1911.02116). One architecture; the three
 * differ in tokenizer, defaults and position-id counting (config.ts, `PositionIdsScheme`).
 * Reference: Hugging Face transformers `src/transformers/models/roberta/modeling_roberta.py`
 * (commit 87b236ba2be8b3e48a7d0c8ca6513302736d2886), whose XLM-R and BERT files are copies of it.
 *
 *   const cfg = parseRobertaConfig(json.text_config, "config.json text_config");
 *   const text = new RobertaModel(store.root.pp("text_model"), cfg);
 *   const { lastHiddenState, pooledOutput } = text.forward(batch);   // [B, T, H], [B, H]
 */
import { Embedding, LayerNorm, Linear, SharedInputLinears, activateInPlace, keyPaddingMask, mergeHeads, normalInit, splitHeads, type VarBuilder } from "../../nn/index.js";
import { arange, scaledDotProductAttention, tidy, type Tensor } from "../../torch/index.js";
import type { TextBatch, TowerOutput } from "../dual_encoder.js";
import { defaultPositionIds, type PositionIdsScheme, type RobertaConfig } from "./config.js";

/** Construction options that are not part of config.json. */
export interface RobertaModelOptions {
  /**
   * Whether the checkpoint has (and the model applies) the `pooler.dense` tanh head. HF's
   * `add_pooling_layer`; false for XLM-R inside M-CLIP, which was saved without it. Default true.
   */
  addPoolingLayer?: boolean;
  /**
   * How position ids are counted when the batch brings none; defaults to the model_type's scheme
   * (`padding-offset` for roberta/xlm-roberta, `from-zero` for bert). KoCLIP's Flax checkpoints
   * need `from-zero` even though they are RoBERTa: their training wrapper passed arange(T).
   */
  positionIds?: PositionIdsScheme;
}

/** A TextBatch with the optional inputs BERT-family encoders also accept (all int64 [B, T]). */
export interface RobertaBatch extends TextBatch {
  /** Segment ids; zeros when absent, as HF does. */
  tokenTypeIds?: Tensor;
  /** Explicit position ids; overrides the `positionIds` scheme. */
  positionIds?: Tensor;
}

/**
 * Checkpoint tensors RobertaModel never asks for: the `position_ids` / `token_type_ids` buffers
 * (arange and zeros) that older transformers versions saved. Pass to `VarStore.assertAllUsed`.
 *
 *   store.assertAllUsed(isRobertaBuffer);
 */
export function isRobertaBuffer(name: string): boolean {
  return /(^|\.)embeddings\.(position_ids|token_type_ids)$/.test(name);
}

/**
 * Position ids for `inputIds` [B, T] under `scheme`, int64 [B, T].
 * padding-offset: fairseq numbers real tokens padding_idx+1, padding_idx+2, … by a running count
 * of non-pad tokens, and gives pads padding_idx itself (a row trained to stay unused). This looks
 * at the ids, not the attention mask, exactly as HF's create_position_ids_from_input_ids does.
 */
export function robertaPositionIds(inputIds: Tensor, scheme: PositionIdsScheme, paddingIdx: number): Tensor {
  return tidy(() => {
    const [b, t] = inputIds.shape as [number, number];
    if (scheme === "from-zero") return arange(0, t, 1, "int64", inputIds.device).unsqueeze(0).expand([b, t]);
    const notPad = inputIds.ne(paddingIdx).toDtype("int64"); // [B, T] 0/1
    return notPad.cumsum(1).mul(notPad).add(paddingIdx);
  });
}

/** Word + position + token-type embeddings, then LayerNorm (and dropout when training). */
export class RobertaEmbeddings {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly tokenTypeEmbeddings: Embedding;
  readonly layerNorm: LayerNorm;

  constructor(vb: VarBuilder, readonly cfg: RobertaConfig) {
    const init = { init: normalInit(cfg.initializer_range) };
    this.wordEmbeddings = new Embedding(vb.pp("word_embeddings"), cfg.vocab_size, cfg.hidden_size, init);
    this.positionEmbeddings = new Embedding(vb.pp("position_embeddings"), cfg.max_position_embeddings, cfg.hidden_size, init);
    this.tokenTypeEmbeddings = new Embedding(vb.pp("token_type_embeddings"), cfg.type_vocab_size, cfg.hidden_size, init);
    this.layerNorm = new LayerNorm(vb.pp("LayerNorm"), cfg.hidden_size, cfg.layer_norm_eps); // sic: TF checkpoint spelling
  }

  /** ids, segment ids and position ids, all int64 [B, T] → [B, T, H]. */
  forward(inputIds: Tensor, tokenTypeIds: Tensor, positionIds: Tensor, training: boolean): Tensor {
    return tidy(() => {
      const x = this.wordEmbeddings.forward(inputIds)
        .add(this.tokenTypeEmbeddings.forward(tokenTypeIds))
        .add(this.positionEmbeddings.forward(positionIds));
      return this.layerNorm.forward(x).dropout(this.cfg.hidden_dropout_prob, training);
    });
  }
}

/**
 * One post-LN encoder layer ("Attention Is All You Need" §3.1, as BERT keeps it):
 *   a = LN(x + Attention(x)),  y = LN(a + FFN(a)).
 * Fields follow the checkpoint's nesting: attention.self.{query,key,value},
 * attention.output.{dense,LayerNorm}, intermediate.dense, output.{dense,LayerNorm}.
 */
export class RobertaLayer {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  /** query, key and value from one product at int8 */
  readonly queryKeyValue: SharedInputLinears;
  readonly attentionOut: Linear;
  readonly attentionNorm: LayerNorm;
  readonly intermediate: Linear;
  readonly output: Linear;
  readonly outputNorm: LayerNorm;

  constructor(vb: VarBuilder, readonly cfg: RobertaConfig) {
    const h = cfg.hidden_size;
    const init = { init: normalInit(cfg.initializer_range) }; // HF: N(0, initializer_range) weights, zero biases
    const selfAttn = vb.pp("attention").pp("self");
    this.query = new Linear(selfAttn.pp("query"), h, h, { ...init, int8: false });
    this.key = new Linear(selfAttn.pp("key"), h, h, { ...init, int8: false });
    this.value = new Linear(selfAttn.pp("value"), h, h, { ...init, int8: false });
    this.queryKeyValue = new SharedInputLinears(vb.store, [this.query, this.key, this.value]);
    const attnOut = vb.pp("attention").pp("output");
    this.attentionOut = new Linear(attnOut.pp("dense"), h, h, init);
    this.attentionNorm = new LayerNorm(attnOut.pp("LayerNorm"), h, cfg.layer_norm_eps);
    this.intermediate = new Linear(vb.pp("intermediate").pp("dense"), h, cfg.intermediate_size, init);
    this.output = new Linear(vb.pp("output").pp("dense"), cfg.intermediate_size, h, init);
    this.outputNorm = new LayerNorm(vb.pp("output").pp("LayerNorm"), h, cfg.layer_norm_eps);
  }

  /** x [B, T, H], keyMask boolean [B, 1, 1, T] (true = real token) → [B, T, H]. */
  forward(x: Tensor, keyMask: Tensor, training: boolean): Tensor {
    return tidy(() => {
      const a = this.attentionNorm.forward(this.attention(x, keyMask, training).add(x));
      return this.outputNorm.forward(this.feedForward(a, training).add(a));
    });
  }

  /** Multi-head self-attention with padded keys masked out, then the output projection. */
  attention(x: Tensor, keyMask: Tensor, training: boolean): Tensor {
    const heads = this.cfg.num_attention_heads;
    const [query, key, value] = this.queryKeyValue.forward(x) as [Tensor, Tensor, Tensor];
    const q = splitHeads(query, heads); // [B, heads, T, head_dim]
    const k = splitHeads(key, heads);
    const v = splitHeads(value, heads);
    // Called directly rather than through nn's multiHeadAttention, which has no dropout argument:
    // BERT drops attention probabilities during training.
    const p = training ? this.cfg.attention_probs_dropout_prob : 0;
    const ctx = mergeHeads(scaledDotProductAttention(q, k, v, keyMask, p)); // [B, T, H]
    return this.attentionOut.forward(ctx).dropout(this.cfg.hidden_dropout_prob, training);
  }

  /** Position-wise FFN: dense → activation → dense. */
  feedForward(a: Tensor, training: boolean): Tensor {
    const hidden = activateInPlace(this.cfg.hidden_act, this.intermediate.forward(a)); // [B, T, intermediate_size]
    return this.output.forward(hidden).dropout(this.cfg.hidden_dropout_prob, training);
  }
}

/** BERT's pooler: tanh(dense(first token's hidden state)). */
export class RobertaPooler {
  readonly dense: Linear;

  constructor(vb: VarBuilder, cfg: RobertaConfig) {
    this.dense = new Linear(vb.pp("dense"), cfg.hidden_size, cfg.hidden_size, { init: normalInit(cfg.initializer_range), int8: false }); // see Linear's int8 option
  }

  /** [B, T, H] → [B, H] */
  forward(hidden: Tensor): Tensor {
    return tidy(() => this.dense.forward(hidden.select(1, 0)).tanh());
  }
}

/**
 * The encoder under one prefix (`embeddings.*`, `encoder.layer.N.*`, `pooler.*`). Reusable as a
 * tower: KoCLIP builds it from `vb.pp("text_model")`, M-CLIP from `vb.pp("transformer")`.
 */
export class RobertaModel {
  readonly embeddings: RobertaEmbeddings;
  readonly layers: RobertaLayer[];
  readonly pooler: RobertaPooler | null;
  /** The position-id scheme used when a batch brings no explicit ids. */
  readonly positionIds: PositionIdsScheme;
  /** Dropout is applied only when true (HF's model.train()); off by default, as after from_pretrained. */
  training = false;

  constructor(vb: VarBuilder, readonly cfg: RobertaConfig, opts: RobertaModelOptions = {}) {
    this.positionIds = opts.positionIds ?? defaultPositionIds(cfg.model_type);
    this.embeddings = new RobertaEmbeddings(vb.pp("embeddings"), cfg);
    const layerVb = vb.pp("encoder").pp("layer");
    this.layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => new RobertaLayer(layerVb.pp(i), cfg));
    this.pooler = opts.addPoolingLayer === false ? null : new RobertaPooler(vb.pp("pooler"), cfg);
  }

  /**
   * The longest sequence the position table can number: max_position_embeddings, less the
   * padding_idx + 1 rows that padding-offset ids skip (514 rows → 512 tokens for XLM-R; klue's 512
   * rows → 510). Truncate tokenizer output to this.
   */
  get maxSequenceLength(): number {
    const rows = this.cfg.max_position_embeddings;
    return this.positionIds === "padding-offset" ? rows - this.cfg.pad_token_id - 1 : rows;
  }

  /**
   * Encodes a batch. `pooledOutput` is the tanh pooler's output; a model built without a pooler
   * returns the first token's last hidden state there instead (what the pooler would have read).
   */
  forward(batch: RobertaBatch): TowerOutput {
    return tidy(() => {
      const ids = batch.inputIds;
      const t = ids.size(1);
      if (!batch.positionIds && t > this.maxSequenceLength) {
        // libtorch would only say "index out of range in self"; say which limit was hit.
        throw new Error(`RobertaModel: sequence length ${t} exceeds the ${this.maxSequenceLength} tokens its position table holds (max_position_embeddings ${this.cfg.max_position_embeddings}, ${this.positionIds} position ids)`);
      }
      const tokenTypeIds = batch.tokenTypeIds ?? ids.zerosLike();
      const positionIds = batch.positionIds ?? robertaPositionIds(ids, this.positionIds, this.cfg.pad_token_id);
      const keyMask = keyPaddingMask(batch.attentionMask); // [B, 1, 1, T]
      let h = this.embeddings.forward(ids, tokenTypeIds, positionIds, this.training);
      for (const layer of this.layers) {
        const next = layer.forward(h, keyMask, this.training);
        h.dispose(); // free each layer's input as we go (autograd keeps what backward needs)
        h = next;
      }
      const pooledOutput = this.pooler ? this.pooler.forward(h) : h.select(1, 0);
      return { lastHiddenState: h, pooledOutput };
    });
  }
}
