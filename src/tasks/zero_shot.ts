/**
 * Zero-shot classification as CLIP does it (Radford et al. 2021, §3.1.4; open_clip's
 * zero_shot_classifier): each class name goes through every prompt template, the embeddings are
 * L2-normalised, averaged and renormalised into one class embedding; an image's class scores are
 * cosine similarities, and its probabilities a softmax of them scaled by the model's temperature.
 */
import { readTextFile } from "../data/datasets.js";
import type { PretrainedModel } from "../models/pretrained.js";
import { similarityMatrix } from "./ranking.js";

/**
 * Korean prompts. KoCLIP's authors found "이것은 {} 이다." more reliable than "{}의 사진", so it
 * comes first; the others add the photo/illustration/emoji framings our collections hold.
 */
export const KOREAN_TEMPLATES = ["이것은 {} 이다.", "{}의 사진", "{}", "{} 그림", "{} 이모지", "{}의 이미지"] as const;

/** English prompts in the style of OpenAI's ImageNet set. */
export const ENGLISH_TEMPLATES = ["a photo of a {}.", "{}", "a picture of a {}.", "an illustration of a {}.", "an emoji of a {}.", "this is a {}."] as const;

/** `ko`, `en`, or a file with one template per line (each containing `{}`). */
export function resolveTemplates(spec: string): string[] {
  if (spec === "ko") return [...KOREAN_TEMPLATES];
  if (spec === "en") return [...ENGLISH_TEMPLATES];
  const lines = readTextFile(spec).split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (lines.length === 0) throw new Error(`${spec}: no templates (one per line, each containing {})`);
  const bad = lines.findIndex((l) => !l.includes("{}"));
  if (bad >= 0) throw new Error(`${spec}:${bad + 1}: template '${lines[bad]}' has no {} placeholder`);
  return lines;
}

function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  return v.map((x) => x / n);
}

/** One embedding per class: the renormalised mean of its template embeddings. */
export async function classEmbeddings(model: PretrainedModel, classes: string[], templates: readonly string[]): Promise<Float32Array[]> {
  if (classes.length === 0) throw new Error("no class names given");
  if (templates.length === 0) throw new Error("no prompt templates given");
  const prompts = classes.flatMap((c) => templates.map((t) => t.replaceAll("{}", c)));
  const rows = await model.encodeTexts(prompts);
  return classes.map((_, c) => {
    const mean = new Float32Array(model.embedDim);
    for (let t = 0; t < templates.length; t++) {
      const r = rows[c * templates.length + t]!;
      for (let k = 0; k < mean.length; k++) mean[k]! += r[k]!;
    }
    return normalize(mean);
  });
}

/** softmax(scale · scores), the probabilities CLIP's logits give. */
export function probabilities(scores: Float32Array, scale: number): Float32Array {
  let max = -Infinity;
  for (const s of scores) max = Math.max(max, s * scale);
  const e = scores.map((s) => Math.exp(s * scale - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/** The model's temperature as a multiplier: exp(logit_scale), capped at 100 as CLIP trains it. */
export function logitScaleOf(model: PretrainedModel): number {
  return Math.min(100, Math.exp(model.encoder.logitScale().item()));
}

export interface Prediction {
  label: string;
  score: number;
  probability: number;
}

/**
 * Zero-shot labels for each image, best first.
 *
 *   const [preds] = await classifyImages(model, ["cat.jpg"], ["고양이", "강아지"]);
 *   preds[0].label   // "고양이"
 */
export async function classifyImages(model: PretrainedModel, images: Parameters<PretrainedModel["encodeImages"]>[0], labels: string[], templates: readonly string[] = KOREAN_TEMPLATES): Promise<Prediction[][]> {
  const classes = await classEmbeddings(model, labels, templates);
  const embedded = await model.encodeImages(images);
  const scale = logitScaleOf(model);
  return similarityMatrix(embedded, classes).map((scores) => {
    const probs = probabilities(scores, scale);
    return labels.map((label, i) => ({ label, score: scores[i]!, probability: probs[i]! })).sort((a, b) => b.score - a.score);
  });
}
