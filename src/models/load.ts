/**
 * loadModel(dir): any supported model folder, or a Hugging Face id (from the cache or downloaded,
 * see hub.ts) → a PretrainedModel (encoder + tokenizer + image preprocessing). The format is
 * detected from the files; errors name the file and the problem.
 *
 *   const model = await loadModel("models/koclip-emoji");
 *   const [e] = await model.encodeTexts(["바닷가의 강아지"]);
 *   const clip = await loadModel("openai/clip-vit-base-patch32@main");
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadImageProcessorConfig } from "../image/index.js";
import { loadTokenizer } from "../tokenizers/index.js";
import type { Precision } from "../nn/index.js";
import { cudaAvailable, type DType } from "../torch/index.js";
import { openCheckpoint, type CheckpointFormat } from "./checkpoint.js";
import type { DualEncoder } from "./dual_encoder.js";
import { resolveModelPath, type HubOptions } from "./hub.js";
import { PretrainedModel } from "./pretrained.js";
import { builderFor } from "./registry.js";

export interface LoadOptions {
  /** "cpu" (default), "cuda" or "cuda:N". */
  device?: string;
  /** dtype of the parameters (float32 default). */
  dtype?: DType;
  /**
   * How the matrix products compute (inference only): fp32 (default); bf16 (bfloat16 weights and
   * matmuls, float32 norms and residual stream); int8 (CPU: dynamically quantised int8 Linear
   * layers). Both keep embeddings within cosine 0.999 of fp32 on the models measured.
   */
  precision?: Precision;
  /** Use this weight file format even when others are present. */
  format?: CheckpointFormat;
  /** Parameters record gradients (for fine-tuning). */
  trainable?: boolean;
  /** For M-CLIP: the CLIP folder or Hugging Face id whose image tower it pairs with. */
  vision?: string;
  /** Cache, endpoint, token, offline mode and progress for Hugging Face ids (defaults from HF_* variables). */
  hub?: HubOptions;
}

/** config.json parsed, or a one-line error naming the file. */
export function readConfigJson(dir: string): { json: Record<string, unknown>; file: string } {
  const file = join(dir, "config.json");
  if (!existsSync(file)) {
    throw new Error(existsSync(dir) ? `${file}: not found (is ${dir} a Hugging Face model folder?)` : `${dir}: no such model folder`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: invalid JSON (${(err as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error(`${file}: expected a JSON object`);
  return { json: json as Record<string, unknown>, file };
}

/** Builds the dual encoder in `dir` without tokenizer or preprocessing (the lower-level half of loadModel). */
export function loadEncoder(dir: string, opts: LoadOptions = {}, vision?: DualEncoder): DualEncoder {
  return buildEncoder(dir, readConfigJson(dir), opts, vision);
}

function buildEncoder(dir: string, { json, file }: { json: Record<string, unknown>; file: string }, opts: LoadOptions, vision?: DualEncoder): DualEncoder {
  const device = opts.device ?? "cpu";
  if (device.startsWith("cuda") && !cudaAvailable()) throw new Error(`device '${device}' requested but no CUDA device is available to this libtorch build`);
  if (device !== "cpu" && !device.startsWith("cuda")) throw new Error(`unknown device '${device}' (use cpu, cuda or cuda:N)`);
  const build = builderFor(json.model_type, file);
  const checkpoint = openCheckpoint(dir, opts.format);
  try {
    return build({ configJson: json, configFile: file, checkpoint, store: { device, dtype: opts.dtype, trainable: opts.trainable, precision: opts.precision }, vision });
  } finally {
    checkpoint.close();
  }
}

/**
 * A folder of that path, else a Hugging Face id's snapshot folder; errors from loading a snapshot
 * are prefixed with the id, since the cache path alone hides which model it was.
 */
async function withModelPath<T>(spec: string, hub: HubOptions | undefined, load: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = await resolveModelPath(spec, hub);
  if (dir === spec) return load(dir);
  try {
    return await load(dir);
  } catch (err) {
    if (err instanceof Error) err.message = `${spec}: ${err.message}`;
    throw err;
  }
}

/** Loads a model folder or Hugging Face id with its tokenizer and image preprocessing. */
export async function loadModel(spec: string, opts: LoadOptions = {}): Promise<PretrainedModel> {
  let visionDir: string | undefined;
  const vision = opts.vision
    ? await withModelPath(opts.vision, opts.hub, (dir) => {
        visionDir = dir;
        return loadEncoder(dir, { ...opts, vision: undefined });
      })
    : undefined;
  return withModelPath(spec, opts.hub, (dir) => loadModelFolder(dir, { ...opts, vision: visionDir }, vision));
}

async function loadModelFolder(dir: string, opts: LoadOptions, vision: DualEncoder | undefined): Promise<PretrainedModel> {
  const config = readConfigJson(dir);
  const encoder = buildEncoder(dir, config, opts, vision);
  try {
    const tokenizer = await loadTokenizer(dir);
    // The image side's preprocessing lives with the image model (M-CLIP's comes from its CLIP).
    const imageDir = opts.vision ?? dir;
    const imageSize = opts.vision || encoder.modelType !== "M-CLIP" ? encoder.imageSize : 224;
    const imageConfig = await loadImageProcessorConfig(imageDir, imageSize);
    return new PretrainedModel(encoder, tokenizer, imageConfig, dir, config.json, opts.device ?? "cpu");
  } catch (err) {
    if (encoder.dispose) encoder.dispose();
    else encoder.store.dispose();
    throw err;
  }
}
