/**
 * Config of a KoCLIP-style dual encoder: Hugging Face's `vision-text-dual-encoder` (PyTorch
 * koclip-base-pt, and what we save) or the Flax example's `hybrid-clip` (koclip-base/large).
 * Field names mirror config.json.
 */
import { ConfigReader } from "../../formats/index.js";
import { parseClipVisionConfig, type ClipVisionConfig } from "../clip/config.js";
import { parseRobertaConfig, type PositionIdsScheme, type RobertaConfig } from "../roberta/config.js";

export const KOCLIP_MODEL_TYPES = ["vision-text-dual-encoder", "hybrid-clip"] as const;
export type KoClipModelType = (typeof KOCLIP_MODEL_TYPES)[number];

export interface KoClipConfig {
  model_type: KoClipModelType;
  vision_config: ClipVisionConfig;
  text_config: RobertaConfig;
  /** Size of the shared embedding space. */
  projection_dim: number;
  /** Initial log temperature, ln(1/0.07) as in CLIP. */
  logit_scale_init_value: number;
}

/** Validates a dual-encoder config.json; errors name the file and field (ConfigReader's format). */
export function parseKoClipConfig(json: unknown, where = "config.json"): KoClipConfig {
  const r = ConfigReader.of(json, where);
  const modelType = r.oneOf("model_type", KOCLIP_MODEL_TYPES, undefined);
  for (const key of ["vision_config", "text_config"]) if (!r.child(key)) r.fail(key, "a JSON object", r.raw(key));
  return {
    model_type: modelType,
    vision_config: parseClipVisionConfig(r.raw("vision_config"), where, "vision_config."),
    text_config: parseRobertaConfig(r.raw("text_config"), where, "text_config."),
    projection_dim: r.int("projection_dim", 512, 1),
    logit_scale_init_value: r.number("logit_scale_init_value", 2.6592),
  };
}

/**
 * Which position ids the text tower was trained with. The Flax hybrid-CLIP wrapper passed
 * arange(T) explicitly, so koclip-base/large count from 0 even though their tower is RoBERTa;
 * PyTorch checkpoints use the tower's own convention.
 */
export function koclipPositionIds(cfg: KoClipConfig): PositionIdsScheme | undefined {
  return cfg.model_type === "hybrid-clip" ? "from-zero" : undefined;
}

/** The config as config.json holds it (what save writes back). */
export function koclipConfigJson(cfg: KoClipConfig): Record<string, unknown> {
  return { architectures: ["VisionTextDualEncoderModel"], ...cfg, model_type: "vision-text-dual-encoder" };
}
