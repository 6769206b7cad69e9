/**
 * exportOnnx: writes a loaded model as the folder transformers.js and optimum read —
 * `config.json`, tokenizer and preprocessor files, and `onnx/text_model.onnx` +
 * `onnx/vision_model.onnx` (or `*_quantized.onnx` at int8) — from our own module tree, no Python.
 *
 *   const model = await loadModel("models/koclip-emoji");
 *   exportOnnx(model, "out/koclip-emoji-onnx", { precision: "int8" });
 *   // ["config.json", "preprocessor_config.json", "tokenizer.json", ..., "onnx/text_model_quantized.onnx", ...]
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeAll, writeFileAtomic } from "../../formats/file_io.js";
import { imageProcessorConfigJson } from "../../image/index.js";
import type { Linear } from "../../nn/index.js";
import { ClipTextTransformer } from "../../models/clip/text.js";
import type { ClipVisionTransformer } from "../../models/clip/vision.js";
import type { DualEncoder } from "../../models/dual_encoder.js";
import { MClipDualEncoder } from "../../models/mclip/dual_encoder.js";
import type { PretrainedModel } from "../../models/pretrained.js";
import { RobertaModel } from "../../models/roberta/model.js";
import { TOKENIZER_FILES } from "../../models/save.js";
import type { ExportPrecision } from "./graph.js";
import { textGraph, visionGraph, type TextTower } from "./towers.js";

export interface OnnxExportOptions {
  /** fp32 (default) or int8 (dynamically quantised encoder layers, `*_quantized.onnx`). */
  precision?: ExportPrecision;
}

/** Dual encoders built from a vision tower and a text tower, each with a projection (CLIP, KoCLIP). */
interface ProjectedTowers {
  visionModel: ClipVisionTransformer;
  textModel: unknown;
  visualProjection: Linear;
  textProjection: Linear;
}

function hasProjectedTowers(e: DualEncoder): e is DualEncoder & ProjectedTowers {
  return "visionModel" in e && "textModel" in e && "visualProjection" in e && "textProjection" in e;
}

/** The towers to export; M-CLIP without its CLIP has no image side. */
export function exportableTowers(e: DualEncoder): { text: TextTower; vision: { tower: ClipVisionTransformer; projection: Linear } | null } {
  if (e instanceof MClipDualEncoder) {
    return { text: { kind: "mclip", tower: e.text }, vision: e.vision ? { tower: e.vision.visionModel, projection: e.vision.visualProjection } : null };
  }
  if (hasProjectedTowers(e)) {
    const vision = { tower: e.visionModel, projection: e.visualProjection };
    if (e.textModel instanceof ClipTextTransformer) return { text: { kind: "clip", tower: e.textModel, projection: e.textProjection }, vision };
    if (e.textModel instanceof RobertaModel) return { text: { kind: "roberta", tower: e.textModel, projection: e.textProjection }, vision };
  }
  throw new Error(`ONNX export does not know the towers of model_type '${e.modelType}' (known: CLIP and KoCLIP dual encoders, M-CLIP)`);
}

/** Writes an encoded model's parts (GraphBuilder.encode) to `path`, atomically. */
export function writeOnnx(path: string, parts: Uint8Array[]): void {
  writeFileAtomic(path, (fd) => {
    for (const part of parts) writeAll(fd, part);
  });
}

/** Writes the ONNX folder for `model` into `outDir`; returns the files written, relative to it. */
export function exportOnnx(model: PretrainedModel, outDir: string, opts: OnnxExportOptions = {}): string[] {
  const precision = opts.precision ?? "fp32";
  const released = model.encoder.store.released;
  if (released.length) throw new Error(`cannot export ${model.dir}: it was loaded at int8 precision, which frees the float weights ('${released[0]}', …); load it at fp32 (export --precision int8 quantises by itself)`);
  const { text, vision } = exportableTowers(model.encoder);
  mkdirSync(join(outDir, "onnx"), { recursive: true });
  const suffix = precision === "int8" ? "_quantized" : "";
  const written: string[] = [];
  const write = (name: string, data: Uint8Array[] | string) => {
    writeOnnx(join(outDir, name), typeof data === "string" ? [new TextEncoder().encode(data)] : data);
    written.push(name);
  };
  write("config.json", JSON.stringify(model.configJson, null, 2) + "\n");
  if (vision) write("preprocessor_config.json", JSON.stringify(imageProcessorConfigJson(model.imageConfig), null, 2) + "\n");
  for (const name of TOKENIZER_FILES) {
    if (!existsSync(join(model.dir, name))) continue;
    copyFileSync(join(model.dir, name), join(outDir, name));
    written.push(name);
  }
  write(`onnx/text_model${suffix}.onnx`, textGraph(text, precision));
  if (vision) write(`onnx/vision_model${suffix}.onnx`, visionGraph(vision.tower, vision.projection, precision));
  return written;
}
