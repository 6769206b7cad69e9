/** `koclip eval zeroshot|retrieval`: accuracy or Recall@k of one model on a JSONL dataset. */
import { formatBadRows, readClassification, readPairs, type Dataset } from "../../data/datasets.js";
import { cacheDecodableImages } from "../../eval/encode.js";
import { loadModel } from "../../models/load.js";
import type { PretrainedModel } from "../../models/pretrained.js";
import { progressReporter } from "../progress.js";
import { markdownTable, percent } from "../../eval/report.js";
import { evaluateRetrieval } from "../../eval/retrieval.js";
import { evaluateZeroShot, type ZeroShotMetrics } from "../../eval/zero_shot_accuracy.js";
import { resolveTemplates } from "../../tasks/zero_shot.js";
import { intFlag, JSON_FLAG, MODEL_FLAGS, modelFlagsHelp, parseFlags, UsageError, type Command } from "../command.js";

const USAGE = `usage: koclip eval zeroshot --model DIR --data CLS.jsonl [options]
       koclip eval retrieval --model DIR --data PAIRS.jsonl [options]

zeroshot   zero-shot classification: each row {"image": PATH, "label": NAME}; class names are the
           distinct labels in order of first appearance, or --classes FILE. Prints top-1 and
           top-5 accuracy and the number of images n.
retrieval  image-text retrieval: each row {"image": PATH, "text": T} or {"image": PATH, "texts": [...]};
           every caption is a text of its image (rows naming the same image merge). Prints
           Recall@1/5/10 image->text (an image is a hit if ANY of its captions is in its top k)
           and text->image (CLIP_benchmark's convention). Equal scores rank by row order.

Image paths are relative to the JSONL file. Bad rows — malformed lines, and rows whose image is
missing or cannot be decoded (not an image, truncated, too many pixels) — are reported on stderr
with their line numbers and skipped (--strict: the first one is an error). Progress goes to stderr.

options:
${modelFlagsHelp("model folder or Hugging Face id ORG/NAME[@REV] (required)", 21)}
  --data FILE        the JSONL dataset (required)
  --templates T      zeroshot: ko (default), en, or a file with one template per line, each with {}
  --classes FILE     zeroshot: class names, one per line (rows with other labels are bad rows)
  --per-class        zeroshot: also print top-1 accuracy per class
  --by FIELD         zeroshot: also print accuracy per value of a row field (e.g. split)
  --json             print the numbers as JSON on the last line (fractions, not percentages):
                     zeroshot {"top1", "top5", "n"[, "groups"][, "perClass"]},
                     retrieval {"imageToText": {"1", "5", "10"}, "textToImage": {...}, "images", "texts"}
  --strict           stop at the first bad row
  --vision DIR|ID    for M-CLIP text models: a CLIP folder or id that supplies the image tower
  --batch-size N     images and texts per forward pass (default: 16 each on the CPU; 32 images, 64 texts on a GPU)`;

const OPTIONS = {
  ...MODEL_FLAGS,
  ...JSON_FLAG,
  data: { type: "string" },
  templates: { type: "string" },
  classes: { type: "string" },
  "per-class": { type: "boolean" },
  by: { type: "string" },
  strict: { type: "boolean" },
  vision: { type: "string" },
  "batch-size": { type: "string" },
} as const;

type Task = "zeroshot" | "retrieval";
const TASKS: readonly Task[] = ["zeroshot", "retrieval"];

function parse(argv: string[]) {
  const { values, positionals } = parseFlags(argv, OPTIONS, true);
  const [task, ...extra] = positionals;
  if (task === undefined) throw new UsageError(`say what to evaluate: ${TASKS.join(" or ")}`);
  if (!TASKS.includes(task as Task)) throw new UsageError(`unknown evaluation '${task}' (known: ${TASKS.join(", ")})`);
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (!values.model) throw new UsageError("--model DIR is required");
  if (!values.data) throw new UsageError("--data FILE is required");
  if (task === "retrieval") {
    for (const flag of ["templates", "classes", "per-class", "by"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} applies to zeroshot only`);
    }
  }
  const batchSize = intFlag("batch-size", values["batch-size"]);
  return { task: task as Task, values, batchSize };
}

const out = (s: string) => process.stdout.write(s + "\n");
const progress = (label: string, total: number) => progressReporter(label, total);

function reportBadRows(d: Dataset<unknown>): void {
  if (d.bad.length) process.stderr.write(formatBadRows(d) + "\n");
}

/** "42.86%  (3/7)": the count is accuracy × n, which is an integer by construction. */
function accuracyLine(name: string, acc: number, n: number): string {
  return `${name.padEnd(6)} ${percent(acc).padStart(7)}  (${Math.round(acc * n)}/${n})`;
}

type Values = ReturnType<typeof parse>["values"];

async function zeroShot(model: PretrainedModel, data: ReturnType<typeof readClassification>, templates: string[], v: Values, batchSize: number | undefined, imageCache: Map<string, Float32Array>): Promise<void> {
  const r = await evaluateZeroShot(model, data, { templates, by: v.by, batchSize, progress, imageCache });
  out(`${v.data}: ${r.n} images, ${data.classes.length} classes, ${templates.length} templates`);
  out(accuracyLine("top-1", r.top1, r.n));
  out(accuracyLine("top-5", r.top5, r.n));
  out(`n      ${r.n}`);
  if (v["per-class"]) {
    out("");
    out(markdownTable(["class", "n", "top-1"], r.perClass.map((c) => [c.label, String(c.n), percent(c.top1)])));
  }
  if (r.groups) {
    out("");
    out(markdownTable([v.by!, "n", "top-1", "top-5"], Object.entries(r.groups).map(([g, m]) => [g, String(m.n), percent(m.top1), percent(m.top5)])));
  }
  if (v.json) {
    const json: ZeroShotMetrics & Record<string, unknown> = { top1: r.top1, top5: r.top5, n: r.n };
    if (r.groups) json.groups = r.groups;
    if (v["per-class"]) json.perClass = r.perClass;
    out(JSON.stringify(json));
  }
}

async function retrieval(model: PretrainedModel, data: ReturnType<typeof readPairs>, v: Values, batchSize: number | undefined, imageCache: Map<string, Float32Array>): Promise<void> {
  const r = await evaluateRetrieval(model, data, { batchSize, progress, imageCache });
  const ks = Object.keys(r.imageToText).map(Number);
  out(`${v.data}: ${r.images} images, ${r.texts} texts`);
  out(markdownTable(["direction", ...ks.map((k) => `R@${k}`)], [
    ["image→text", ...ks.map((k) => percent(r.imageToText[k]!))],
    ["text→image", ...ks.map((k) => percent(r.textToImage[k]!))],
  ]));
  if (v.json) out(JSON.stringify({ imageToText: r.imageToText, textToImage: r.textToImage, images: r.images, texts: r.texts }));
}

export const evalCommand: Command = {
  name: "eval",
  summary: "zero-shot accuracy or retrieval Recall@k of a model on a JSONL dataset",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { task, values, batchSize } = parse(argv);
    // Read the data and templates before loading the model, so a bad file fails fast.
    const cls = task === "zeroshot" ? readClassification(values.data!, { strict: values.strict, classesFile: values.classes }) : undefined;
    const pairs = task === "retrieval" ? readPairs(values.data!, { strict: values.strict }) : undefined;
    const templates = resolveTemplates(values.templates ?? "ko");
    using model = await loadModel(values.model!, { vision: values.vision, device: values.device });
    // Images are encoded first, so a row whose image cannot be decoded is a bad row like any
    // other (reported with its line, skipped); the evaluation then finds every image cached.
    const imageCache = new Map<string, Float32Array>();
    const dataset = (cls ?? pairs)! as Dataset<{ image: string; line: number }>;
    const undecodable = await cacheDecodableImages(model, dataset.rows.map((r) => r.image), imageCache, { batchSize, progress });
    const unreadable = dataset.rows.filter((r) => undecodable.has(r.image));
    if (values.strict && unreadable.length) throw new Error(`${dataset.file}:${unreadable[0]!.line}: ${undecodable.get(unreadable[0]!.image)}`);
    const drop = <D extends Dataset<{ image: string; line: number }>>(d: D): D => ({
      ...d,
      rows: d.rows.filter((r) => !undecodable.has(r.image)),
      bad: [...d.bad, ...unreadable.map((r) => ({ line: r.line, reason: undecodable.get(r.image)! }))].sort((a, b) => a.line - b.line),
    });
    reportBadRows(drop(dataset));
    if (cls) await zeroShot(model, drop(cls), templates, values, batchSize, imageCache);
    else await retrieval(model, drop(pairs!), values, batchSize, imageCache);
    return 0;
  },
};
