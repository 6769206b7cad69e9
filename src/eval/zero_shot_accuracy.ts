/**
 * Zero-shot classification accuracy, as CLIP reports it (Radford et al. 2021, §3.1.4): each
 * class name becomes a template-ensemble text embedding (`tasks/zero_shot.ts`), each image is
 * scored against every class by cosine similarity, and top-k accuracy is the fraction of images
 * whose true class is among the k best-scoring classes.
 *
 * Ties between class scores are broken by class order (earlier class first), the rule of
 * `rankOf` in `tasks/ranking.ts`. With fewer than k classes every image is a top-k hit.
 *
 *   const data = readClassification("data/emoji/openmoji-cls.jsonl");
 *   const r = await evaluateZeroShot(model, data, { templates: KOREAN_TEMPLATES, by: "split" });
 *   r.top1, r.groups?.heldout.top1
 */
import type { ClassRow, Dataset } from "../data/datasets.js";
import type { PretrainedModel } from "../models/pretrained.js";
import { rankOf, similarityMatrix } from "../tasks/ranking.js";
import { classEmbeddings } from "../tasks/zero_shot.js";
import { encodeImageFiles } from "./encode.js";
import type { ProgressFactory } from "./progress.js";

/** Accuracies as fractions in [0, 1]; n is the number of images. */
export interface ZeroShotMetrics {
  top1: number;
  top5: number;
  n: number;
}

/** Top-1 accuracy of the images of one class. */
export interface ClassAccuracy {
  label: string;
  n: number;
  top1: number;
}

export interface ZeroShotResult extends ZeroShotMetrics {
  /** Classes that have at least one image, in class order. */
  perClass: ClassAccuracy[];
  /** With `by`: metrics per value of that field, in order of first appearance. */
  groups?: Record<string, ZeroShotMetrics>;
}

/** The group of a row whose `by` field is missing or null. */
export const NO_GROUP = "(none)";

/**
 * Fraction of rows whose true class `labels[i]` ranks in the top k of `scores[i]`.
 *
 *   topKAccuracy([[0.9, 0.1, 0.0], [0.5, 0.2, 0.7]], [0, 1], 1)   // 0.5
 *   topKAccuracy([[0.9, 0.1, 0.0], [0.5, 0.2, 0.7]], [0, 1], 2)   // 0.5 (class 1 ranks third)
 */
export function topKAccuracy(scores: ArrayLike<number>[], labels: readonly number[], k: number): number {
  return hits(scores, labels, k).filter(Boolean).length / checkedLength(scores, labels);
}

function checkedLength(scores: ArrayLike<number>[], labels: readonly number[]): number {
  if (scores.length !== labels.length) throw new Error(`${scores.length} score rows but ${labels.length} labels`);
  if (scores.length === 0) throw new Error("no images to evaluate");
  return scores.length;
}

function hits(scores: ArrayLike<number>[], labels: readonly number[], k: number): boolean[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  checkedLength(scores, labels);
  return scores.map((row, i) => {
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= row.length) throw new Error(`labels[${i}] = ${label} is not a class index (0..${row.length - 1})`);
    return rankOf(row, label) < k;
  });
}

/**
 * Top-1 accuracy per class, for the classes that have images.
 *
 *   perClassAccuracy([[0.9, 0.1], [0.8, 0.3], [0.1, 0.6]], [0, 1, 1], ["cat", "dog"])
 *   // [{ label: "cat", n: 1, top1: 1 }, { label: "dog", n: 2, top1: 0.5 }]
 */
export function perClassAccuracy(scores: ArrayLike<number>[], labels: readonly number[], classes: readonly string[]): ClassAccuracy[] {
  const top1 = hits(scores, labels, 1);
  const n = new Array<number>(classes.length).fill(0);
  const right = new Array<number>(classes.length).fill(0);
  labels.forEach((c, i) => {
    n[c]!++;
    if (top1[i]) right[c]!++;
  });
  return classes.flatMap((label, c) => (n[c]! > 0 ? [{ label, n: n[c]!, top1: right[c]! / n[c]! }] : []));
}

/**
 * Everything `evaluateZeroShot` reports, from a score matrix [image][class]. `groups[i]`, when
 * given, names row i's group.
 */
export function zeroShotMetrics(scores: ArrayLike<number>[], labels: readonly number[], classes: readonly string[], groups?: readonly string[]): ZeroShotResult {
  const metrics = (rows: number[]): ZeroShotMetrics => {
    const s = rows.map((i) => scores[i]!);
    const l = rows.map((i) => labels[i]!);
    return { top1: topKAccuracy(s, l, 1), top5: topKAccuracy(s, l, 5), n: rows.length };
  };
  const result: ZeroShotResult = { ...metrics(labels.map((_, i) => i)), perClass: perClassAccuracy(scores, labels, classes) };
  if (groups) {
    if (groups.length !== labels.length) throw new Error(`${groups.length} group names but ${labels.length} labels`);
    const members = new Map<string, number[]>();
    groups.forEach((g, i) => members.set(g, [...(members.get(g) ?? []), i]));
    result.groups = Object.fromEntries([...members].map(([g, rows]) => [g, metrics(rows)]));
  }
  return result;
}

/** The value of a row's `extra[field]` as a group name (strings as is, other values as JSON). */
export function groupOf(extra: Record<string, unknown>, field: string): string {
  const v = extra[field];
  if (v === undefined || v === null) return NO_GROUP;
  return typeof v === "string" ? v : JSON.stringify(v);
}

export interface ZeroShotOptions {
  /** Prompt templates, each containing `{}` (e.g. KOREAN_TEMPLATES). */
  templates: readonly string[];
  /** Class names to score against (default: the dataset's classes); every label must be one. */
  classes?: readonly string[];
  /** Also report metrics per value of this `extra` field (e.g. "split"). */
  by?: string;
  /** Images per forward pass. */
  batchSize?: number;
  progress?: ProgressFactory;
  /** Image rows by path, shared between evaluations of one model (see encodeImageFiles). */
  imageCache?: Map<string, Float32Array>;
}

/**
 * Zero-shot top-1/top-5 accuracy of a model on a classification dataset.
 *
 *   const r = await evaluateZeroShot(model, readClassification("cls.jsonl"), { templates: resolveTemplates("ko") });
 *   console.log(r.top1, r.top5, r.n);
 */
export async function evaluateZeroShot(model: PretrainedModel, dataset: Dataset<ClassRow> & { classes?: string[] }, opts: ZeroShotOptions): Promise<ZeroShotResult> {
  const classes = [...(opts.classes ?? dataset.classes ?? [...new Set(dataset.rows.map((r) => r.label))])];
  if (dataset.rows.length === 0) throw new Error(`${dataset.file}: no usable rows`);
  const index = new Map(classes.map((c, i) => [c, i]));
  const labels = dataset.rows.map((r) => {
    const c = index.get(r.label);
    if (c === undefined) throw new Error(`${dataset.file}:${r.line}: label '${r.label}' is not one of the ${classes.length} classes`);
    return c;
  });
  const classRows = await classEmbeddings(model, classes, opts.templates);
  const images = await encodeImageFiles(model, dataset.rows.map((r) => r.image), {
    batchSize: opts.batchSize,
    cache: opts.imageCache,
    progress: opts.progress,
  });
  const groups = opts.by === undefined ? undefined : dataset.rows.map((r) => groupOf(r.extra, opts.by!));
  return zeroShotMetrics(similarityMatrix(images, classRows), labels, classes, groups);
}
