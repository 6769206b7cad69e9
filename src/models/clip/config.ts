/**
 * CLIP configs as typed data: `ClipVisionConfig`, `ClipTextConfig`, `ClipConfig`, with the field
 * names of Hugging Face's `config.json` (transformers `configuration_clip.py`), parsed and checked
 * once at the boundary, plus named presets for the OpenAI checkpoints.
 *
 *   const cfg = parseClipConfig(JSON.parse(readFileSync(path, "utf8")), path);
 *   cfg.vision_config.patch_size   // 32
 */
import { ConfigError, ConfigReader, inRange, isJsonObject as isObject, NON_NEGATIVE, POSITIVE, type Json } from "../../formats/index.js";
import { ACTIVATIONS, type Activation } from "../../nn/index.js";

/** What both CLIP towers' encoders read (the shared part of CLIPTextConfig and CLIPVisionConfig). */
export interface ClipEncoderConfig {
  /** Width of the residual stream. */
  hidden_size: number;
  /** Width of the MLP's hidden layer. */
  intermediate_size: number;
  num_attention_heads: number;
  num_hidden_layers: number;
  /** OpenAI's checkpoints use quick_gelu, x·σ(1.702x); HF's own trainings sometimes gelu. */
  hidden_act: Activation;
  layer_norm_eps: number;
  /** Parsed for fidelity; we never apply attention dropout (the fixtures and inference use 0). */
  attention_dropout: number;
  /** Std of the normal init of patch and position embeddings when training from scratch. */
  initializer_range: number;
  /** Scales every init std (HF's testing knob; 1.0 for real checkpoints). */
  initializer_factor: number;
}

/** The image tower (HF `CLIPVisionConfig`, model_type `clip_vision_model`). */
export interface ClipVisionConfig extends ClipEncoderConfig {
  model_type: "clip_vision_model";
  /** Input side in pixels; the position table has (image_size / patch_size)² + 1 rows. */
  image_size: number;
  patch_size: number;
  num_channels: number;
  /** Only used by CLIPVisionModelWithProjection; CLIPModel reads its own top-level projection_dim. */
  projection_dim: number;
}

/** The text tower (HF `CLIPTextConfig`, model_type `clip_text_model`). */
export interface ClipTextConfig extends ClipEncoderConfig {
  model_type: "clip_text_model";
  vocab_size: number;
  /** Longest sequence the learned position table covers (77 for OpenAI's models). */
  max_position_embeddings: number;
  pad_token_id: number;
  bos_token_id: number;
  /**
   * The pooled text feature is the hidden state at the first token with this id. Configs saved
   * before transformers PR #24773 carry 2 here, which is wrong for CLIP's BPE; HF (and we) then
   * pool at the argmax of the input ids, where `<|endoftext|>`, the largest id, sits.
   */
  eos_token_id: number;
  /** Only used by CLIPTextModelWithProjection; CLIPModel reads its own top-level projection_dim. */
  projection_dim: number;
}

/** The dual encoder (HF `CLIPConfig`, model_type `clip`). */
export interface ClipConfig {
  model_type: "clip";
  text_config: ClipTextConfig;
  vision_config: ClipVisionConfig;
  /** Size of the shared embedding space both projections map into. */
  projection_dim: number;
  /** Initial log temperature: ln(1/0.07) = 2.6592, as in the CLIP paper. */
  logit_scale_init_value: number;
  initializer_factor: number;
}

// ---------------------------------------------------------------------------------------------
// Presets. Defaults of the HF config classes are those of openai/clip-vit-base-patch32.

const ENCODER_DEFAULTS = {
  hidden_act: "quick_gelu",
  layer_norm_eps: 1e-5,
  attention_dropout: 0,
  initializer_range: 0.02,
  initializer_factor: 1,
} as const satisfies Partial<ClipEncoderConfig>;

/**
 * The ViT-B/32 image tower of openai/clip-vit-base-patch32 (HF `CLIPVisionConfig()` defaults).
 *
 *   clipVitB32Vision().hidden_size   // 768
 */
export function clipVitB32Vision(): ClipVisionConfig {
  return {
    model_type: "clip_vision_model",
    ...ENCODER_DEFAULTS,
    hidden_size: 768,
    intermediate_size: 3072,
    num_attention_heads: 12,
    num_hidden_layers: 12,
    image_size: 224,
    patch_size: 32,
    num_channels: 3,
    projection_dim: 512,
  };
}

/** The ViT-B/16 image tower of openai/clip-vit-base-patch16: B/32 with 16-pixel patches. */
export function clipVitB16Vision(): ClipVisionConfig {
  return { ...clipVitB32Vision(), patch_size: 16 };
}

/** The ViT-L/14 image tower of openai/clip-vit-large-patch14. */
export function clipVitL14Vision(): ClipVisionConfig {
  return {
    ...clipVitB32Vision(),
    hidden_size: 1024,
    intermediate_size: 4096,
    num_attention_heads: 16,
    num_hidden_layers: 24,
    patch_size: 14,
    projection_dim: 768,
  };
}

/**
 * The 12-layer, 512-wide text tower of the base OpenAI models (HF `CLIPTextConfig()` defaults).
 * eos_token_id is 49407 (`<|endoftext|>`); the hub configs still say 2, which pools identically
 * for OpenAI's tokenizer (see ClipTextConfig.eos_token_id).
 */
export function clipBaseText(): ClipTextConfig {
  return {
    model_type: "clip_text_model",
    ...ENCODER_DEFAULTS,
    hidden_size: 512,
    intermediate_size: 2048,
    num_attention_heads: 8,
    num_hidden_layers: 12,
    vocab_size: 49408,
    max_position_embeddings: 77,
    pad_token_id: 1,
    bos_token_id: 49406,
    eos_token_id: 49407,
    projection_dim: 512,
  };
}

/**
 * openai/clip-vit-base-patch32: ViT-B/32 + the base text tower, joint space 512.
 *
 *   clipVitB32().projection_dim   // 512
 */
export function clipVitB32(): ClipConfig {
  return {
    model_type: "clip",
    text_config: clipBaseText(),
    vision_config: clipVitB32Vision(),
    projection_dim: 512,
    logit_scale_init_value: 2.6592,
    initializer_factor: 1,
  };
}

/** openai/clip-vit-base-patch16. */
export function clipVitB16(): ClipConfig {
  return { ...clipVitB32(), vision_config: clipVitB16Vision() };
}

/** openai/clip-vit-large-patch14: ViT-L/14 + a 768-wide, 12-head text tower, joint space 768. */
export function clipVitL14(): ClipConfig {
  const text: ClipTextConfig = { ...clipBaseText(), hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, projection_dim: 768 };
  return { ...clipVitB32(), text_config: text, vision_config: clipVitL14Vision(), projection_dim: 768 };
}

// ---------------------------------------------------------------------------------------------
// Parsing, through the one ConfigReader: every error names the file (`where`) and the dotted field.

function encoderFields(f: ConfigReader, dflt: ClipEncoderConfig): ClipEncoderConfig {
  const cfg: ClipEncoderConfig = {
    hidden_size: f.int("hidden_size", dflt.hidden_size, 1),
    intermediate_size: f.int("intermediate_size", dflt.intermediate_size, 1),
    num_attention_heads: f.int("num_attention_heads", dflt.num_attention_heads, 1),
    num_hidden_layers: f.int("num_hidden_layers", dflt.num_hidden_layers, 1),
    hidden_act: f.oneOf("hidden_act", ACTIVATIONS, dflt.hidden_act),
    layer_norm_eps: f.number("layer_norm_eps", dflt.layer_norm_eps, POSITIVE),
    attention_dropout: f.number("attention_dropout", dflt.attention_dropout, inRange(0, 1, true)),
    initializer_range: f.number("initializer_range", dflt.initializer_range, NON_NEGATIVE),
    initializer_factor: f.number("initializer_factor", dflt.initializer_factor, NON_NEGATIVE),
  };
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new ConfigError(
      `${f.where}: ${f.prefix}hidden_size ${cfg.hidden_size} is not divisible by num_attention_heads ${cfg.num_attention_heads}`,
    );
  }
  return cfg;
}

/**
 * Old CLIP configs (transformers < 4.27) saved each tower twice, as `text_config` and
 * `text_config_dict`; HF lets the `_dict` copy win, so we do too.
 */
function subConfig(json: Json, key: "text_config" | "vision_config"): Json | undefined {
  const main = json[key], dict = json[`${key}_dict`];
  if (!isObject(main) && !isObject(dict)) return undefined;
  return { ...(isObject(main) ? main : {}), ...(isObject(dict) ? dict : {}) };
}

/**
 * Finds the tower config inside the shapes a checkpoint may use: the tower's own config
 * (`clip_text_model` / `clip_vision_model`, or no model_type), a `clip` config's sub-config, or a
 * `vision-text-dual-encoder` config's sub-config (which may itself be a whole `clip` config: HF
 * then takes that config's tower).
 */
function locateTower(json: unknown, where: string, key: "text_config" | "vision_config", towerType: string, prefix = ""): { json: Json; prefix: string } {
  if (!isObject(json)) throw new ConfigError(`${where}: ${prefix ? prefix.slice(0, -1) : "config"} must be a JSON object`);
  const type = json.model_type;
  if (type === undefined || type === towerType) return { json, prefix };
  if (type === "clip" || type === "vision-text-dual-encoder") {
    const sub = subConfig(json, key);
    if (!sub) throw new ConfigError(`${where}: ${prefix}${key} is missing or not an object (model_type '${String(type)}')`);
    return locateTower(sub, where, key, towerType, `${prefix}${key}.`);
  }
  throw new ConfigError(
    `${where}: ${prefix}model_type '${String(type)}' is not a CLIP ${key === "text_config" ? "text" : "vision"} config ` +
      `(expected '${towerType}', 'clip' or 'vision-text-dual-encoder')`,
  );
}

/**
 * A CLIP image-tower config from a parsed config.json: standalone (`clip_vision_model`), a `clip`
 * config's `vision_config`, or a `vision-text-dual-encoder` config's `vision_config`. Absent fields
 * take HF's defaults (ViT-B/32).
 *
 *   parseClipVisionConfig({ model_type: "clip_vision_model", patch_size: 16 }, "config.json").image_size  // 224
 */
export function parseClipVisionConfig(json: unknown, where: string, prefix = ""): ClipVisionConfig {
  const tower = locateTower(json, where, "vision_config", "clip_vision_model", prefix);
  const f = new ConfigReader(tower.json, where, tower.prefix);
  const d = clipVitB32Vision();
  const cfg: ClipVisionConfig = {
    model_type: "clip_vision_model",
    ...encoderFields(f, d),
    image_size: f.int("image_size", d.image_size, 1),
    patch_size: f.int("patch_size", d.patch_size, 1),
    num_channels: f.int("num_channels", d.num_channels, 1),
    projection_dim: f.int("projection_dim", d.projection_dim, 1),
  };
  if (cfg.image_size % cfg.patch_size !== 0) {
    throw new ConfigError(`${where}: ${tower.prefix}image_size ${cfg.image_size} is not a multiple of patch_size ${cfg.patch_size}`);
  }
  return cfg;
}

/**
 * A CLIP text-tower config: standalone (`clip_text_model`) or a `clip` config's `text_config`.
 * Absent fields take HF's defaults (the base OpenAI text tower).
 *
 *   parseClipTextConfig({ model_type: "clip", text_config: { eos_token_id: 2 } }, "config.json").eos_token_id  // 2
 */
export function parseClipTextConfig(json: unknown, where: string): ClipTextConfig {
  const { json: obj, prefix } = locateTower(json, where, "text_config", "clip_text_model");
  const f = new ConfigReader(obj, where, prefix);
  const d = clipBaseText();
  return {
    model_type: "clip_text_model",
    ...encoderFields(f, d),
    vocab_size: f.int("vocab_size", d.vocab_size, 1),
    max_position_embeddings: f.int("max_position_embeddings", d.max_position_embeddings, 1),
    pad_token_id: f.int("pad_token_id", d.pad_token_id),
    bos_token_id: f.int("bos_token_id", d.bos_token_id),
    eos_token_id: f.int("eos_token_id", d.eos_token_id),
    projection_dim: f.int("projection_dim", d.projection_dim, 1),
  };
}

/**
 * A whole CLIP config (model_type `clip`, as `CLIPModel.save_pretrained` writes it).
 *
 *   const cfg = parseClipConfig(JSON.parse(readFileSync("model/config.json", "utf8")), "model/config.json");
 *   cfg.text_config.eos_token_id   // 1 for the clip-tiny fixture
 */
export function parseClipConfig(json: unknown, where: string): ClipConfig {
  if (!isObject(json)) throw new ConfigError(`${where}: config must be a JSON object`);
  if (json.model_type !== "clip") {
    throw new ConfigError(`${where}: model_type '${String(json.model_type)}' is not 'clip'`);
  }
  const f = new ConfigReader(json, where, "");
  const d = clipVitB32();
  // HF fills a missing tower config with the class defaults; an explicit non-object is an error.
  for (const key of ["text_config", "vision_config"] as const) {
    const v = json[key];
    if (v !== undefined && v !== null && !isObject(v)) throw new ConfigError(`${where}: ${key} must be a JSON object, got ${JSON.stringify(v)}`);
  }
  return {
    model_type: "clip",
    text_config: parseClipTextConfig({ ...json, text_config: subConfig(json, "text_config") ?? {} }, where),
    vision_config: parseClipVisionConfig({ ...json, vision_config: subConfig(json, "vision_config") ?? {} }, where),
    projection_dim: f.int("projection_dim", d.projection_dim, 1),
    logit_scale_init_value: f.number("logit_scale_init_value", d.logit_scale_init_value),
    initializer_factor: f.number("initializer_factor", d.initializer_factor, NON_NEGATIVE),
  };
}
