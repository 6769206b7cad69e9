/** `koclip compare`: zero-shot and retrieval numbers of several models and prompt languages, as one table. */
import { sniffDatasetKind } from "../../data/datasets.js";
import { compareModels, formatMarkdownTable, LANGS, parseModelSpecs, type Lang } from "../../eval/compare.js";
import { progressReporter } from "../progress.js";
import { intFlag, parseFlags, UsageError, type Command } from "../command.js";

const USAGE = `usage: koclip compare --models A,B,... --data CLS.jsonl[,PAIRS.jsonl] [options]

Evaluates each model in each prompt language and prints one markdown table: zero-shot top-1/top-5
on the classification file, Recall@1/5/10 both ways on the pairs file (see koclip eval --help).
Which --data file is which is read from its rows ("label" vs "text"/"texts").

Models: a folder, or MCLIP_DIR+CLIP_DIR for an M-CLIP text model paired with a CLIP image tower.

Languages: ko uses the Korean prompt templates on the files as given. en uses the English
templates and, for each file X.jsonl, the sibling X-en.jsonl when it exists (the emoji dataset's
openmoji-cls-en.jsonl and openmoji-pairs-en.jsonl hold English labels/captions of the same
images in the same order); without a sibling, en changes only the templates.

options:
  --models LIST      comma-separated model folders or Hugging Face ids (required)
  --data LIST        a classification file, a pairs file, or both, comma-separated (required)
  --lang LIST        ko, en or ko,en (default ko)
  --json             also print the rows as JSON on the last line (fractions, not percentages)
  --strict           stop at the first bad row
  --device D         cpu (default) or cuda
  --batch-size N     images and texts per forward pass (default: 16 each on the CPU; 32 images, 64 texts on a GPU)`;

const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

export const compareCommand: Command = {
  name: "compare",
  summary: "compare models and prompt languages on zero-shot and retrieval (markdown table)",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags(argv, {
          models: { type: "string" },
          data: { type: "string" },
          lang: { type: "string" },
          json: { type: "boolean" },
          strict: { type: "boolean" },
          device: { type: "string" },
          "batch-size": { type: "string" },
        });
    if (!values.models) throw new UsageError("--models A,B,... is required");
    if (!values.data) throw new UsageError("--data CLS.jsonl[,PAIRS.jsonl] is required");
    let specs;
    try {
      specs = parseModelSpecs(list(values.models));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (specs.length === 0) throw new UsageError("--models lists no model");
    const langs = list(values.lang ?? "ko");
    const badLang = langs.find((l) => !LANGS.includes(l as Lang));
    if (badLang !== undefined) throw new UsageError(`unknown language '${badLang}' (known: ${LANGS.join(", ")})`);
    const batchSize = intFlag("batch-size", values["batch-size"]);

    const data: { cls?: string; pairs?: string } = {};
    for (const file of list(values.data)) {
      const kind = sniffDatasetKind(file) === "classification" ? "cls" : "pairs";
      if (data[kind]) throw new UsageError(`--data has two ${kind === "cls" ? "classification" : "pairs"} files: ${data[kind]} and ${file}`);
      data[kind] = file;
    }
    const rows = await compareModels(specs, data, [...new Set(langs)] as Lang[], {
      strict: values.strict,
      batchSize,
      device: values.device,
      progress: (label, total) => progressReporter(label, total),
    });
    process.stdout.write(formatMarkdownTable(rows) + "\n");
    if (values.json) process.stdout.write(JSON.stringify(rows) + "\n");
    return 0;
  },
};
