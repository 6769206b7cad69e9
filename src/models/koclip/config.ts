/**
 * Config of a KoCLIP-style dual encoder: Hugging Face's `vision-text-dual-encoder` (PyTorch
 * koclip-base-pt, and what we save) or the Flax example's `hybrid-clip` (koclip-base/large).
 * Field names mirror config.json.
 */
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

function fail(where: string, msg: string): never {
  throw new Error(`${where}: ${msg}`);
}

/** Validates a dual-encoder config.json; errors name the file and field. */
export function parseKoClipConfig(json: unknown, where = "config.json"): KoClipConfig {
  if (typeof json !== "object" || json === null) fail(where, "expected a JSON object");
  const o = json as Record<string, unknown>;
  const modelType = o.model_type;
  if (!(KOCLIP_MODEL_TYPES as readonly unknown[]).includes(modelType)) {
    fail(where, `model_type '${String(modelType)}' is not a dual encoder (known: ${KOCLIP_MODEL_TYPES.join(", ")})`);
  }
  if (typeof o.vision_config !== "object" || o.vision_config === null) fail(where, "missing vision_config");
  if (typeof o.text_config !== "object" || o.text_config === null) fail(where, "missing text_config");
  const projection = o.projection_dim ?? 512;
  if (!Number.isInteger(projection) || (projection as number) <= 0) fail(where, `projection_dim must be a positive integer, got ${String(projection)}`);
  const scale = o.logit_scale_init_value ?? 2.6592;
  if (typeof scale !== "number") fail(where, `logit_scale_init_value must be a number`);
  return {
    model_type: modelType as KoClipModelType,
    vision_config: parseClipVisionConfig(o.vision_config, `${where} vision_config`),
    text_config: parseRobertaConfig(o.text_config, `${where} text_config`),
    projection_dim: projection as number,
    logit_scale_init_value: scale,
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
