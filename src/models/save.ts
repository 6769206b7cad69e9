/**
 * saveModel: writes a model folder as Hugging Face's save_pretrained does — config.json,
 * model.safetensors, tokenizer files and preprocessor_config.json — so Python users can load what
 * we train, and so can loadModel. Every file is written to a temporary name and renamed.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeSafetensors, type RawTensor } from "../formats/index.js";
import { imageProcessorConfigJson } from "../image/index.js";
import { tensorToRaw } from "../nn/index.js";
import { tidy, type DType } from "../torch/index.js";
import type { PretrainedModel } from "./pretrained.js";

/** Tokenizer files copied from the model's own folder when present. */
export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model"];

function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export interface SaveOptions {
  /** Store floating-point weights in this dtype (e.g. float16 to halve the size). */
  dtype?: Extract<DType, "float32" | "float16" | "bfloat16">;
}

/** Writes `model` into `dir` (created if needed). */
export function saveModel(model: PretrainedModel, dir: string, opts: SaveOptions = {}): void {
  const released = model.encoder.store.released;
  if (released.length) {
    throw new Error(`cannot save ${model.dir}: it was loaded at int8 precision, which frees the float weights its int8 layers replace (${released.length}, e.g. '${released[0]}'); load it with precision fp32 to save it`);
  }
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, RawTensor>();
  for (const [name, t] of model.encoder.store.vars) {
    tensors.set(name, tidy(() => {
      const isFloat = t.dtype === "float32" || t.dtype === "float16" || t.dtype === "bfloat16" || t.dtype === "float64";
      return tensorToRaw(opts.dtype && isFloat && t.dtype !== opts.dtype ? t.detach().toDtype(opts.dtype) : t.detach());
    }));
  }
  writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
  const dtype = opts.dtype ?? model.encoder.store.dtype;
  writeFileAtomic(join(dir, "config.json"), JSON.stringify({ ...model.configJson, dtype }, null, 2) + "\n");
  writeFileAtomic(join(dir, "preprocessor_config.json"), JSON.stringify(imageProcessorConfigJson(model.imageConfig), null, 2) + "\n");
  if (resolve(model.dir) !== resolve(dir)) {
    for (const name of TOKENIZER_FILES) {
      const from = join(model.dir, name);
      if (existsSync(from)) copyFileSync(from, join(dir, name));
    }
  }
}
