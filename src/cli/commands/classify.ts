/** `koclip classify`: zero-shot labels for images, or the text → patch heatmap of one image. */
import { readFileSync } from "node:fs";
import { resolveModelDir } from "../../models/default_model.js";
import { loadModel } from "../../models/load.js";
import { patchHeatmap, type PatchHeatmap } from "../../tasks/patch.js";
import { classifyImages, resolveTemplates } from "../../tasks/zero_shot.js";
import { intFlag, JSON_FLAG, MODEL_FLAGS, modelFlagsHelp, parseFlags, UsageError, type Command } from "../command.js";

const USAGE = `usage: koclip classify FILE... --labels 고양이,강아지,... [options]
       koclip classify FILE --patch TEXT [--grid N]

Zero-shot classification: each label goes through every prompt template ("이것은 {} 이다.",
"{}의 사진", ...), the averaged text embeddings are compared with the image's, and a softmax
at the model's temperature gives probabilities. Prints the best labels per image:
    photo.jpg
      0.912  고양이
      0.071  강아지

With --patch, cuts the image into N x N tiles and prints how well each tile matches TEXT
(cosine), as a grid of numbers shaded from ' ' (lowest) to '█' (highest).

options:
  --labels L,L,...     class names, comma-separated
  --labels-file FILE   class names, one per line
  --templates T        ko (default), en, or a file with one template per line containing {}
  --top N              labels printed per image (default 5; --json prints all)
  --patch TEXT         text → patch heatmap instead of classification
  --grid N             tiles per side for --patch (default 4)
${modelFlagsHelp("model folder or Hugging Face id (default models/koclip-emoji)", 23)}
  --json               print JSON (classification: {"model", "results": [{"image", "predictions"}]};
                       patch: {"image", "text", "rows", "cols", "width", "height", "scores"})`;

const SHADES = " ░▒▓█";

/** The heatmap as text: one line per tile row, each tile a shade (min→max of this map) and its score. */
export function renderHeatmap(h: PatchHeatmap): string {
  const all = h.scores.flat();
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  return h.scores
    .map((row) =>
      row
        .map((s) => {
          const level = hi > lo ? Math.round(((s - lo) / (hi - lo)) * (SHADES.length - 1)) : SHADES.length - 1;
          return `${SHADES[level]!.repeat(2)} ${s.toFixed(3).padStart(6)}`;
        })
        .join("  "),
    )
    .join("\n");
}

function parseLabels(inline: string | undefined, file: string | undefined): string[] {
  const labels = [
    ...(inline ?? "").split(","),
    ...(file ? readFileSync(file, "utf8").split("\n") : []),
  ].map((l) => l.trim()).filter((l) => l !== "");
  if (new Set(labels).size !== labels.length) throw new UsageError("--labels has duplicates");
  return labels;
}

export const classifyCommand: Command = {
  name: "classify",
  summary: "zero-shot classify images with Korean labels, or map a text over an image's tiles",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags(argv, {
      labels: { type: "string" },
      "labels-file": { type: "string" },
      templates: { type: "string" },
      top: { type: "string" },
      patch: { type: "string" },
      grid: { type: "string" },
      ...MODEL_FLAGS,
      ...JSON_FLAG,
    }, true);
    if (positionals.length === 0) throw new UsageError("give at least one image file");
    const top = intFlag("top", values.top) ?? 5;
    const grid = intFlag("grid", values.grid) ?? 4;
    if (grid > 32) throw new UsageError(`--grid must be at most 32, got ${grid}`);
    let labels: string[] = [];
    if (values.patch !== undefined) {
      if (positionals.length !== 1) throw new UsageError("--patch takes exactly one image");
      if (values.labels !== undefined || values["labels-file"] !== undefined) throw new UsageError("give either --labels or --patch, not both");
    } else {
      labels = parseLabels(values.labels, values["labels-file"]);
      if (labels.length < 2) throw new UsageError("give at least two labels with --labels A,B,... (or --patch TEXT for a heatmap)");
    }
    const templates = values.patch === undefined ? resolveTemplates(values.templates ?? "ko") : [];

    using model = await loadModel(resolveModelDir(values.model), { device: values.device });
    if (values.patch !== undefined) {
      const image = positionals[0]!;
      const h = await patchHeatmap(model, image, values.patch, { grid });
      if (values.json) process.stdout.write(JSON.stringify({ image, text: values.patch, ...h }) + "\n");
      else console.log(`"${values.patch}" vs ${h.rows}x${h.cols} tiles of ${image} (${h.width}x${h.height}), cosine:\n${renderHeatmap(h)}`);
      return 0;
    }
    const results = await classifyImages(model, positionals, labels, templates);
    if (values.json) {
      const out = results.map((predictions, i) => ({ image: positionals[i], predictions }));
      process.stdout.write(JSON.stringify({ model: model.dir, templates, results: out }) + "\n");
    } else {
      results.forEach((preds, i) => {
        console.log(positionals[i]);
        for (const p of preds.slice(0, top)) console.log(`  ${p.probability.toFixed(3)}  ${p.label}`);
      });
    }
    return 0;
  },
};
