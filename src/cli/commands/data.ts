/** `koclip data emoji`: builds the emoji image–caption dataset (src/data/emoji.ts). */
import { intFlag, parseFlags, UsageError, type Command } from "../command.js";
import { ProgressLine } from "../progress.js";
import { buildEmojiDataset, type EmojiManifest } from "../../data/emoji.js";
import { EMOJI_STYLE_NAMES, parseStyles } from "../../data/emoji_styles.js";

const USAGE = `usage: koclip data emoji --out DIR [options]

Renders emoji in five art styles with their CLDR Korean/English names into DIR:
train.jsonl, train-bilingual.jsonl, val.jsonl, heldout.jsonl (training styles),
openmoji-pairs(-en).jsonl, openmoji-cls(-en).jsonl (test style), classes-ko/en.txt,
manifest.json and images/<style>/<key>.png. The same options give byte-identical output.

options:
  --out DIR          output folder: new, empty, or an earlier build (required)
  --size N           image side in pixels (default 64)
  --seed N           seed for backgrounds and jitter (default 0)
  --styles LIST      comma list from ${EMOJI_STYLE_NAMES.join(",")} (default all)
  --all-variants     also render skin-tone variants in training styles
  --limit N          only the first N concepts in CLDR order (for tests)
  --holdout F        share of concepts held out of training (default 0.2)
  --val F            share of seen training images put in val.jsonl (default 0.05)
  --noto-font PATH   NotoColorEmoji.ttf (default /usr/share/fonts/truetype/noto/, or $KOCLIP_NOTO_FONT)
  --concurrency N    images rendered at once (default 2 x CPUs)

needs: apt fonts-noto-color-emoji (style noto); npm emojibase-data, @napi-rs/canvas, sharp,
@twemoji/svg, @iconify-json/fluent-emoji-flat, fluentui-emoji, openmoji.`;

/** `koclip data emoji --out DIR`: see USAGE; prints counts per style and split, and the time. */
export const dataCommand: Command = {
  name: "data",
  summary: "build training/evaluation datasets (data emoji: emoji images with Korean names)",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const [what, ...rest] = argv;
    if (what === undefined) throw new UsageError("missing dataset name (known: emoji)");
    if (what !== "emoji") throw new UsageError(`unknown dataset '${what}' (known: emoji)`);
    const flags = parseEmojiFlags(rest);
    const started = performance.now();
    const line = new ProgressLine();
    const manifest = await buildEmojiDataset({ ...flags, onProgress: (done, total) => line.update(done, total, `rendering ${done}/${total} images`) });
    line.end();
    printSummary(manifest, flags.outDir, (performance.now() - started) / 1000);
    return 0;
  },
};

function parseEmojiFlags(argv: string[]) {
  const { values } = parseFlags(argv, {
    out: { type: "string" },
    size: { type: "string" },
    seed: { type: "string" },
    styles: { type: "string" },
    "all-variants": { type: "boolean" },
    limit: { type: "string" },
    holdout: { type: "string" },
    val: { type: "string" },
    "noto-font": { type: "string" },
    concurrency: { type: "string" },
  });
  if (values.out === undefined || values.out === "") throw new UsageError("--out DIR is required");
  let styles;
  try {
    styles = values.styles === undefined ? undefined : parseStyles(values.styles);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    outDir: values.out,
    size: intFlag("size", values.size, 8, 1024),
    seed: intFlag("seed", values.seed, Number.MIN_SAFE_INTEGER),
    styles,
    allVariants: values["all-variants"] ?? false,
    limit: intFlag("limit", values.limit),
    holdout: fractionFlag("--holdout", values.holdout),
    valFraction: fractionFlag("--val", values.val),
    notoFont: values["noto-font"],
    concurrency: intFlag("concurrency", values.concurrency, 1, 1024),
  };
}

function fractionFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const f = Number(raw);
  if (raw.trim() === "" || !(f >= 0 && f < 1)) throw new UsageError(`${name} must be a number in [0, 1), got '${raw}'`);
  return f;
}

function printSummary(m: EmojiManifest, outDir: string, seconds: number): void {
  const header = ["style", "role", "base", "all", "images", "train", "val", "heldout", "eval"];
  const table = [header];
  for (const [style, c] of Object.entries(m.styles)) {
    const cells = [c.available.base, c.available.all, c.images, c.train, c.val, c.heldout, c.eval];
    table.push([style, c.role, ...cells.map(String)]);
  }
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) {
    console.log(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "));
  }
  console.log(`\nconcepts: ${m.concepts.total} (${m.concepts.seen} seen, ${m.concepts.heldout} held out)`);
  console.log("base/all = emoji the style has without/with skin tones; images = rendered now");
  for (const [file, n] of Object.entries(m.files)) console.log(`  ${file.padEnd(24)} ${n}`);
  const files = Object.keys(m.files).length + 1; // + manifest.json
  console.log(`\nwrote ${m.images} images and ${files} files to ${outDir} in ${seconds.toFixed(1)} s`);
}
