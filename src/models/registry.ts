/**
 * model_type → how to build that family from a folder's config and weights (transformers.js keeps
 * the same kind of table). Family differences live in these entries, not in callers.
 */
import { parseClipConfig } from "./clip/config.js";
import { ClipModel, isClipBuffer } from "./clip/model.js";
import type { Checkpoint } from "./checkpoint.js";
import { buildStrict, type DualEncoder } from "./dual_encoder.js";
import { koclipConfigJson, parseKoClipConfig } from "./koclip/config.js";
import { KoClipModel } from "./koclip/model.js";
import { parseMClipConfig } from "./mclip/config.js";
import { MClipDualEncoder } from "./mclip/dual_encoder.js";
import { MultilingualCLIP } from "./mclip/model.js";
import { isRobertaBuffer } from "./roberta/model.js";
import { VarStore, type VarStoreOptions } from "../nn/index.js";

/** What a family loader gets: the parsed-once config JSON, the opened weights, store options. */
export interface BuildContext {
  configJson: unknown;
  configFile: string;
  checkpoint: Checkpoint;
  store: VarStoreOptions;
  /** For text-only families (M-CLIP): the image model to pair with, already loaded. */
  vision?: DualEncoder;
}

/** Builds the model and fails, naming them, on checkpoint tensors the model did not use. */
type Builder = (ctx: BuildContext) => DualEncoder;

/** Checkpoint tensors no family loads (position-id buffers); strict loading skips them. */
export const isCheckpointBuffer = (name: string) => isClipBuffer(name) || isRobertaBuffer(name);

function strictStore(ctx: BuildContext): VarStore {
  return VarStore.fromSource(ctx.checkpoint.source, { ...ctx.store, file: ctx.checkpoint.file });
}

const buildKoClip: Builder = (ctx) => buildStrict(strictStore(ctx), (store) => new KoClipModel(store, parseKoClipConfig(ctx.configJson, ctx.configFile)), isCheckpointBuffer);

export const MODEL_BUILDERS = {
  "clip": (ctx) => buildStrict(strictStore(ctx), (store) => new ClipModel(store, parseClipConfig(ctx.configJson, ctx.configFile)), isCheckpointBuffer),
  "vision-text-dual-encoder": buildKoClip,
  // koclip-base / koclip-large (Flax hybrid-CLIP example); the config fixes their position ids.
  "hybrid-clip": buildKoClip,
  "M-CLIP": (ctx) => {
    if (ctx.vision && !(ctx.vision instanceof ClipModel)) throw new Error(`M-CLIP pairs with a CLIP image model; the vision folder holds a '${ctx.vision.modelType}'`);
    const vision = (ctx.vision as ClipModel | undefined) ?? null;
    const store = strictStore(ctx);
    const text = buildStrict(store, (s) => new MultilingualCLIP(s.root, parseMClipConfig(ctx.configJson, ctx.configFile)), isCheckpointBuffer);
    return new MClipDualEncoder(text, store, vision);
  },
} as const satisfies Record<string, Builder>;

/** A model with fresh parameters from its config alone, and the config.json it saves with. */
type FreshBuilder = (json: Record<string, unknown>, file: string, store: VarStore) => { encoder: DualEncoder; configJson: Record<string, unknown> };

const freshKoClip: FreshBuilder = (json, file, store) => {
  const config = parseKoClipConfig(json, file);
  return { encoder: new KoClipModel(store, config), configJson: koclipConfigJson(config) };
};

/** The families `koclip train --model-config` can start from scratch (M-CLIP is distilled, not trained here). */
const FRESH_BUILDERS: Record<string, FreshBuilder> = {
  "clip": (json, file, store) => ({ encoder: new ClipModel(store, parseClipConfig(json, file)), configJson: json }),
  "vision-text-dual-encoder": freshKoClip,
  "hybrid-clip": freshKoClip,
};

/** A fresh model of the config's family, or an error listing the families that can start fresh. */
export function freshModel(json: Record<string, unknown>, file: string, store: VarStore): { encoder: DualEncoder; configJson: Record<string, unknown> } {
  const build = typeof json.model_type === "string" ? FRESH_BUILDERS[json.model_type] : undefined;
  if (!build) throw new Error(`${file}: cannot train model_type '${String(json.model_type)}' from scratch (known: ${Object.keys(FRESH_BUILDERS).join(", ")})`);
  return build(json, file, store);
}

/** The vision tower's config in a folder's config.json: a CLIP (vision) config itself, or a dual encoder's vision_config. */
export function visionTowerConfig(json: Record<string, unknown>): Record<string, unknown> {
  return json.model_type === "clip" || json.model_type === "clip_vision_model" ? json : (json.vision_config as Record<string, unknown>);
}

/** The text tower's config in a folder's config.json: a KoCLIP's text_config, or a RoBERTa/BERT config itself. */
export function textTowerConfig(json: Record<string, unknown>): Record<string, unknown> {
  return json.text_config && json.model_type === "vision-text-dual-encoder" ? (json.text_config as Record<string, unknown>) : json;
}

export type ModelType = keyof typeof MODEL_BUILDERS;

/** The builder for a config's model_type, or an error listing the known ones. */
export function builderFor(modelType: unknown, configFile: string): Builder {
  if (typeof modelType === "string" && modelType in MODEL_BUILDERS) return MODEL_BUILDERS[modelType as ModelType];
  throw new Error(`${configFile}: unsupported model_type '${String(modelType)}' (known: ${Object.keys(MODEL_BUILDERS).join(", ")})`);
}
