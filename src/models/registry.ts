/**
 * model_type → how to build that family from a folder's config and weights (transformers.js keeps
 * the same kind of table). Family differences live in these entries, not in callers.
 */
import { parseClipConfig } from "./clip/config.js";
import { ClipModel, isClipBuffer } from "./clip/model.js";
import type { Checkpoint } from "./checkpoint.js";
import type { DualEncoder } from "./dual_encoder.js";
import { parseKoClipConfig } from "./koclip/config.js";
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

const isBuffer = (name: string) => isClipBuffer(name) || isRobertaBuffer(name);

function strictStore(ctx: BuildContext): VarStore {
  return VarStore.fromSource(ctx.checkpoint.source, { ...ctx.store, file: ctx.checkpoint.file });
}

function buildKoClip(ctx: BuildContext): DualEncoder {
  const store = strictStore(ctx);
  const model = new KoClipModel(store, parseKoClipConfig(ctx.configJson, ctx.configFile));
  store.assertAllUsed(isBuffer);
  return model;
}

export const MODEL_BUILDERS = {
  "clip": (ctx) => {
    const store = strictStore(ctx);
    const model = new ClipModel(store, parseClipConfig(ctx.configJson, ctx.configFile));
    store.assertAllUsed(isBuffer);
    return model;
  },
  "vision-text-dual-encoder": buildKoClip,
  // koclip-base / koclip-large (Flax hybrid-CLIP example); the config fixes their position ids.
  "hybrid-clip": buildKoClip,
  "M-CLIP": (ctx) => {
    const store = strictStore(ctx);
    const text = new MultilingualCLIP(store.root, parseMClipConfig(ctx.configJson, ctx.configFile));
    store.assertAllUsed(isBuffer);
    if (ctx.vision && !(ctx.vision instanceof ClipModel)) throw new Error(`M-CLIP pairs with a CLIP image model; the vision folder holds a '${ctx.vision.modelType}'`);
    return new MClipDualEncoder(text, store, (ctx.vision as ClipModel | undefined) ?? null);
  },
} as const satisfies Record<string, Builder>;

export type ModelType = keyof typeof MODEL_BUILDERS;

/** The builder for a config's model_type, or an error listing the known ones. */
export function builderFor(modelType: unknown, configFile: string): Builder {
  if (typeof modelType === "string" && modelType in MODEL_BUILDERS) return MODEL_BUILDERS[modelType as ModelType];
  throw new Error(`${configFile}: unsupported model_type '${String(modelType)}' (known: ${Object.keys(MODEL_BUILDERS).join(", ")})`);
}
