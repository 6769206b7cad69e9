/**
 * Several models × prompt languages on the same classification and/or pairs data, as one table.
 *
 * Language rule: `ko` uses the files as given with KOREAN_TEMPLATES. `en` uses ENGLISH_TEMPLATES
 * and, for each file `X.jsonl`, the sibling `X-en.jsonl` when it exists (the emoji dataset's
 * `openmoji-cls-en.jsonl` holds the English labels of the same images in the same order);
 * otherwise the same file, so only the prompt templates change.
 *
 *   const rows = await compareModels([{ name: "koclip", dir: "models/koclip-emoji" }],
 *                                    { cls: "data/emoji/openmoji-cls.jsonl" }, ["ko", "en"]);
 *   console.log(formatMarkdownTable(rows));
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { formatBadRows, readClassification, readPairs, type ClassRow, type Dataset, type PairRow } from "../data/datasets.js";
import { loadModel, type LoadOptions } from "../models/load.js";
import { ENGLISH_TEMPLATES, KOREAN_TEMPLATES } from "../tasks/zero_shot.js";
import type { ProgressFactory } from "./progress.js";
import { markdownTable, percent } from "./report.js";
import { evaluateRetrieval, type RetrievalResult } from "./retrieval.js";
import { evaluateZeroShot, type ZeroShotMetrics } from "./zero_shot_accuracy.js";

/** Prompt languages. */
export type Lang = "ko" | "en";
export const LANGS: readonly Lang[] = ["ko", "en"];

/** A model to compare: its folder, and for M-CLIP the CLIP folder that gives it an image tower. */
export interface ModelSpec {
  name: string;
  dir: string;
  vision?: string;
}

/** One model in one prompt language. */
export interface CompareRow {
  model: string;
  lang: Lang;
  zeroShot?: ZeroShotMetrics & { file: string };
  retrieval?: RetrievalResult & { file: string };
}

export interface CompareOptions {
  strict?: boolean;
  batchSize?: number;
  device?: string;
  progress?: ProgressFactory;
  /** Receives bad-row reports (formatBadRows) and notes; default: stderr. */
  warn?: (message: string) => void;
}

/** The last `n` components of a path. */
function tail(path: string, n: number): string {
  return resolve(path).split(/[\\/]+/).filter((p) => p !== "").slice(-n).join("/");
}

/**
 * Model specs from `DIR` or `MCLIP_DIR+CLIP_DIR` strings. Names are the last folder names of
 * the paths, with as many parent folders as it takes for the folders named to differ (the same
 * depth for all, so a table reads evenly); a model given twice gets " (2)".
 *
 *   parseModelSpecs(["models/a", "m/mclip+m/clip"])
 *   // [{ name: "a", dir: "models/a" }, { name: "mclip+clip", dir: "m/mclip", vision: "m/clip" }]
 *   parseModelSpecs(["x/koclip/model", "x/clip/model"]).map((s) => s.name)   // ["koclip/model", "clip/model"]
 */
export function parseModelSpecs(specs: readonly string[]): ModelSpec[] {
  const parsed = specs.map((s) => {
    const parts = s.split("+");
    if (parts.length > 2 || parts.some((p) => p.trim() === "")) throw new Error(`model '${s}': expected DIR or MCLIP_DIR+CLIP_DIR`);
    return { dir: parts[0]!, vision: parts[1] };
  });
  const paths = [...new Set(parsed.flatMap((p) => (p.vision === undefined ? [resolve(p.dir)] : [resolve(p.dir), resolve(p.vision)])))];
  let depth = 1;
  while (depth < 64 && new Set(paths.map((p) => tail(p, depth))).size < paths.length) depth++;
  const seen = new Map<string, number>();
  return parsed.map((p) => {
    let name = p.vision === undefined ? tail(p.dir, depth) : `${tail(p.dir, depth)}+${tail(p.vision, depth)}`;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n > 1) name += ` (${n})`;
    return p.vision === undefined ? { name, dir: p.dir } : { name, dir: p.dir, vision: p.vision };
  });
}

/** The file a language uses (see the language rule above). */
export function languageFile(file: string, lang: Lang): string {
  if (lang === "ko" || file.endsWith("-en.jsonl")) return file;
  const sibling = file.replace(/\.jsonl$/, "") + "-en.jsonl";
  return existsSync(sibling) ? sibling : file;
}

/** Prompt templates of a language. */
export function templatesFor(lang: Lang): readonly string[] {
  return lang === "ko" ? KOREAN_TEMPLATES : ENGLISH_TEMPLATES;
}

/**
 * Evaluates every model in every language; models load one at a time and are freed after.
 */
export async function compareModels(specs: readonly ModelSpec[], data: { cls?: string; pairs?: string }, langs: readonly Lang[], opts: CompareOptions = {}): Promise<CompareRow[]> {
  if (!data.cls && !data.pairs) throw new Error("compareModels: give a classification file, a pairs file, or both");
  if (specs.length === 0 || langs.length === 0) throw new Error("compareModels: no models or no languages");
  const warn = opts.warn ?? ((m: string) => process.stderr.write(m + "\n"));
  const report = (d: Dataset<unknown>) => {
    if (d.bad.length) warn(formatBadRows(d));
  };

  // Read each file once, whatever the number of models.
  const cls = new Map<Lang, Dataset<ClassRow> & { classes: string[] }>();
  const pairs = new Map<Lang, Dataset<PairRow>>();
  for (const lang of langs) {
    if (data.cls) {
      const file = languageFile(data.cls, lang);
      if (lang === "en" && file === data.cls) warn(`note: no ${data.cls.replace(/\.jsonl$/, "")}-en.jsonl; English prompts use the labels of ${data.cls}`);
      const d = readClassification(file, { strict: opts.strict });
      report(d);
      cls.set(lang, d);
    }
    if (data.pairs) {
      const d = readPairs(languageFile(data.pairs, lang), { strict: opts.strict });
      report(d);
      pairs.set(lang, d);
    }
  }

  const rows: CompareRow[] = [];
  for (const spec of specs) {
    const loadOpts: LoadOptions = { device: opts.device, vision: spec.vision };
    const model = await loadModel(spec.dir, loadOpts);
    // The languages (and often the cls and pairs files) share their images: encode each once.
    const imageCache = new Map<string, Float32Array>();
    try {
      for (const lang of langs) {
        const row: CompareRow = { model: spec.name, lang };
        const c = cls.get(lang);
        if (c) {
          const r = await evaluateZeroShot(model, c, { templates: templatesFor(lang), batchSize: opts.batchSize, progress: opts.progress, imageCache });
          row.zeroShot = { file: c.file, top1: r.top1, top5: r.top5, n: r.n };
        }
        const p = pairs.get(lang);
        if (p) row.retrieval = { file: p.file, ...(await evaluateRetrieval(model, p, { batchSize: opts.batchSize, progress: opts.progress, imageCache })) };
        rows.push(row);
      }
    } finally {
      model.dispose();
    }
  }
  return rows;
}

/**
 * One markdown table: a row per model and language, zero-shot and retrieval columns when present.
 *
 *   | model       | lang | top-1  | top-5  | I→T R@1 | ...
 *   | koclip-tiny | ko   | 14.29% | 71.43% | 28.57%  | ...
 */
export function formatMarkdownTable(rows: readonly CompareRow[]): string {
  const hasCls = rows.some((r) => r.zeroShot);
  const hasPairs = rows.some((r) => r.retrieval);
  const ks = hasPairs ? Object.keys(rows.find((r) => r.retrieval)!.retrieval!.imageToText).map(Number) : [];
  const header = ["model", "lang"];
  if (hasCls) header.push("top-1", "top-5");
  if (hasPairs) header.push(...ks.map((k) => `I→T R@${k}`), ...ks.map((k) => `T→I R@${k}`));
  const body = rows.map((r) => {
    const cells = [r.model, r.lang];
    if (hasCls) cells.push(...(r.zeroShot ? [percent(r.zeroShot.top1), percent(r.zeroShot.top5)] : ["", ""]));
    if (hasPairs) {
      const rt = r.retrieval;
      cells.push(...ks.map((k) => (rt ? percent(rt.imageToText[k]!) : "")), ...ks.map((k) => (rt ? percent(rt.textToImage[k]!) : "")));
    }
    return cells;
  });
  return markdownTable(header, body);
}
