/**
 * The BERT-family encoder config (`config.json` of model_type `roberta`, `xlm-roberta` or `bert`),
 * with Hugging Face's field names so one grep finds both sides. The three types share one
 * architecture; they differ only in defaults and in how position ids are counted (see
 * `defaultPositionIds`).
 *
 *   const cfg = parseRobertaConfig(JSON.parse(readFileSync("config.json", "utf8")), "config.json");
 *   cfg.hidden_size / cfg.num_attention_heads;   // head width, e.g. 64
 */
import { ConfigError, ConfigReader, inRange, NON_NEGATIVE } from "../../formats/index.js";
import { ACTIVATIONS, type Activation } from "../../nn/index.js";

/** The model_types this encoder loads. */
export const ROBERTA_MODEL_TYPES = ["roberta", "xlm-roberta", "bert"] as const;
/** `roberta`, `xlm-roberta` or `bert`. */
export type RobertaModelType = (typeof ROBERTA_MODEL_TYPES)[number];

/**
 * How position ids are counted (the row of `position_embeddings` each token reads).
 * - `padding-offset`: RoBERTa/XLM-R. Real tokens count from `pad_token_id + 1`; pads get
 *   `pad_token_id` (fairseq's make_positions, kept by HF's create_position_ids_from_input_ids).
 * - `from-zero`: BERT, and every checkpoint trained with explicit 0..T-1 ids (KoCLIP's Flax
 *   checkpoints: the hybrid-CLIP wrapper passed `arange(T)` to its RoBERTa).
 */
export type PositionIdsScheme = "padding-offset" | "from-zero";

/**
 * Encoder hyper-parameters as named in config.json. Dropout probabilities are kept for training;
 * inference ignores them.
 */
export interface RobertaConfig {
  model_type: RobertaModelType;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: Activation;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  /** Rows of the position table. RoBERTa's 514 = 512 tokens + the pad row + the unused row 0. */
  max_position_embeddings: number;
  /** Segment (token type) vocabulary: 2 for BERT, 1 for RoBERTa/XLM-R checkpoints. */
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  /** Pad token id; for RoBERTa/XLM-R also the `padding_idx` position ids are offset from. */
  pad_token_id: number;
  /** Only absolute position embeddings are implemented (HF's relative_key variants are not). */
  position_embedding_type: "absolute";
}

/** The position-id scheme a model_type uses when nothing overrides it. */
export function defaultPositionIds(modelType: RobertaModelType): PositionIdsScheme {
  return modelType === "bert" ? "from-zero" : "padding-offset";
}

// Hugging Face's constructor defaults, for fields a config.json leaves out. BertConfig's defaults
// hold for all three, except that RoBERTa/XLM-R pad with id 1 (fairseq's <pad>) and RobertaConfig
// defaults to roberta-base's vocabulary. Real checkpoints spell these out; the defaults matter
// only for hand-written configs.
const HF_DEFAULTS: Record<RobertaModelType, Omit<RobertaConfig, "model_type">> = {
  bert: {
    vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
    hidden_act: "gelu", hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 512,
    type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: 0, position_embedding_type: "absolute",
  },
  roberta: {
    vocab_size: 50265, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
    hidden_act: "gelu", hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 512,
    type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: 1, position_embedding_type: "absolute",
  },
  "xlm-roberta": {
    vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
    hidden_act: "gelu", hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 512,
    type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: 1, position_embedding_type: "absolute",
  },
};

/**
 * Validates a parsed config.json (or a `text_config` inside one) and fills HF's defaults for
 * missing fields. `where` names the file and `prefix` the sub-object ("text_config.") in errors.
 * Unknown fields are ignored, as HF ignores them.
 *
 *   parseRobertaConfig({ model_type: "bert", hidden_act: "swish" }, "config.json");
 *   // throws: config.json: hidden_act must be one of gelu, gelu_new, …, got "swish"
 */
export function parseRobertaConfig(json: unknown, where = "config.json", prefix = ""): RobertaConfig {
  const r = ConfigReader.of(json, where, prefix);
  const modelType = r.oneOf("model_type", ROBERTA_MODEL_TYPES, undefined);
  const d = HF_DEFAULTS[modelType];
  r.oneOf("position_embedding_type", ["absolute"], "absolute");
  const cfg: RobertaConfig = {
    model_type: modelType,
    vocab_size: r.int("vocab_size", d.vocab_size, 1),
    hidden_size: r.int("hidden_size", d.hidden_size, 1),
    num_hidden_layers: r.int("num_hidden_layers", d.num_hidden_layers, 0),
    num_attention_heads: r.int("num_attention_heads", d.num_attention_heads, 1),
    intermediate_size: r.int("intermediate_size", d.intermediate_size, 1),
    hidden_act: r.oneOf("hidden_act", ACTIVATIONS, d.hidden_act),
    hidden_dropout_prob: r.number("hidden_dropout_prob", d.hidden_dropout_prob, inRange(0, 1)),
    attention_probs_dropout_prob: r.number("attention_probs_dropout_prob", d.attention_probs_dropout_prob, inRange(0, 1)),
    max_position_embeddings: r.int("max_position_embeddings", d.max_position_embeddings, 1),
    type_vocab_size: r.int("type_vocab_size", d.type_vocab_size, 1),
    initializer_range: r.number("initializer_range", d.initializer_range, NON_NEGATIVE),
    layer_norm_eps: r.number("layer_norm_eps", d.layer_norm_eps, inRange(0, 1)),
    pad_token_id: r.int("pad_token_id", d.pad_token_id, 0),
    position_embedding_type: "absolute",
  };
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new ConfigError(`${where}: ${prefix}hidden_size ${cfg.hidden_size} is not a multiple of num_attention_heads ${cfg.num_attention_heads}`);
  }
  if (cfg.pad_token_id >= cfg.vocab_size) r.fail("pad_token_id", `inside the vocabulary (vocab_size ${cfg.vocab_size})`, cfg.pad_token_id);
  return cfg;
}

/**
 * klue/roberta-large, KoCLIP's text tower (koclip-base and koclip-large). Note 512 position rows,
 * not RoBERTa's usual 514: padding-offset ids fit 510 tokens, KoCLIP's from-zero ids fit 512.
 */
export function klueRobertaLarge(): RobertaConfig {
  return {
    model_type: "roberta", vocab_size: 32000, hidden_size: 1024, num_hidden_layers: 24, num_attention_heads: 16,
    intermediate_size: 4096, hidden_act: "gelu", hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 512, type_vocab_size: 1, initializer_range: 0.02, layer_norm_eps: 1e-5, pad_token_id: 1,
    position_embedding_type: "absolute",
  };
}

/** FacebookAI/xlm-roberta-base: 250k SentencePiece vocabulary, 12 layers of width 768. */
export function xlmRobertaBase(): RobertaConfig {
  return {
    model_type: "xlm-roberta", vocab_size: 250002, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12,
    intermediate_size: 3072, hidden_act: "gelu", hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 514, type_vocab_size: 1, initializer_range: 0.02, layer_norm_eps: 1e-5, pad_token_id: 1,
    position_embedding_type: "absolute",
  };
}

/** FacebookAI/xlm-roberta-large, the `modelBase` of M-CLIP's XLM-Roberta-Large-Vit-* models. */
export function xlmRobertaLarge(): RobertaConfig {
  return { ...xlmRobertaBase(), hidden_size: 1024, num_hidden_layers: 24, num_attention_heads: 16, intermediate_size: 4096 };
}
