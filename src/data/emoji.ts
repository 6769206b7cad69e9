/**
 * The emoji image–caption dataset: five art styles × CLDR Korean/English names, split so that
 * evaluation measures both an unseen art style (OpenMoji) and unseen concepts (20% held out).
 *
 * `koclip data emoji --out DIR` calls `buildEmojiDataset`. Layout of DIR:
 *
 *   images/<style>/<key>.png      one image per (style, emoji), e.g. images/noto/1f431.png
 *   foregrounds/<style>/<key>.png the training styles' emoji again, transparent and filling the
 *                                 image (rows' `foreground`), for fresh backgrounds each step
 *   train.jsonl                   training styles, seen concepts, Korean captions
 *   train-bilingual.jsonl         every train.jsonl image twice: Korean captions, then English
 *   val.jsonl                     ~5% of training-style images of seen concepts (not in train)
 *   heldout.jsonl                 training styles, held-out concepts (never in train or val)
 *   openmoji-pairs(-en).jsonl     every OpenMoji base emoji with captions and seen/heldout
 *   openmoji-cls(-en).jsonl       the same images with the class name as `label`
 *   classes-ko.txt, classes-en.txt  one class name per line (every concept in the build)
 *   manifest.json                 options, counts per style and file, package versions
 *
 * Nothing in DIR depends on time, machine or concurrency: the same options give the same bytes.
 */
import { availableParallelism } from "node:os";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import sharp from "sharp";
import {
  FOREGROUNDS_DIR,
  IMAGES_DIR,
  prepareOutDir,
  writeJsonl,
  writeLines,
  type ClassRow,
  type DatasetFile,
  type PairRow,
} from "./dataset_files.js";
import { renderEmojiForegroundPng, renderEmojiPng } from "./emoji_render.js";
import { conceptSplit, isValidationImage, type ConceptSplit } from "./emoji_splits.js";
import {
  EMOJI_STYLE_NAMES,
  EMOJI_STYLES,
  indexStyle,
  type EmojiStyleName,
  type GlyphSource,
  type StyleIndex,
  type WantedEmoji,
} from "./emoji_styles.js";
import { captions, loadEmojiConcepts, type EmojiConcept, type EmojiVariant } from "./emoji_text.js";
import { NotoFont } from "./noto_font.js";
import type { InstalledPackage } from "./packages.js";
import { mapPool } from "./pool.js";
import { SeededRandom } from "./seeded.js";

/** Options of `buildEmojiDataset`; only `outDir` is required. */
export interface EmojiDatasetOptions {
  readonly outDir: string;
  /** Image side in pixels (default 64). */
  readonly size?: number;
  /** Seed for backgrounds and jitter (default 0). Splits do not depend on it. */
  readonly seed?: number;
  /** Styles to render (default all five). */
  readonly styles?: readonly EmojiStyleName[];
  /** Also render skin-tone variants in training styles (default false: base emoji only). */
  readonly allVariants?: boolean;
  /** Use only the first N concepts in CLDR order (for tests and quick looks). */
  readonly limit?: number;
  /** Use only these concept keys (see emoji_key.ts), before `limit`. */
  readonly keys?: readonly string[];
  /** Share of concepts held out of training in every style (default 0.2). */
  readonly holdout?: number;
  /** Share of seen training-style images moved to val.jsonl (default 0.05). */
  readonly valFraction?: number;
  /** Path of NotoColorEmoji.ttf (default Debian's, or $KOCLIP_NOTO_FONT). */
  readonly notoFont?: string;
  /** Images rendered at once (default twice the CPU count). */
  readonly concurrency?: number;
  /** Called after indexing and after each image, for progress display. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Counts for one style in manifest.json. */
export interface StyleCounts {
  readonly role: "train" | "test";
  readonly licence: string;
  /** How many of the build's concepts (base) and concepts plus skin tones (all) the style has. */
  readonly available: { readonly base: number; readonly all: number };
  readonly images: number;
  readonly train: number;
  readonly val: number;
  readonly heldout: number;
  readonly eval: number;
}

/** Contents of manifest.json, also returned by `buildEmojiDataset`. */
export interface EmojiManifest {
  readonly dataset: "koclip-emoji";
  readonly format: 1;
  readonly options: {
    readonly size: number;
    readonly seed: number;
    readonly styles: readonly EmojiStyleName[];
    readonly allVariants: boolean;
    readonly limit: number | null;
    readonly keys: readonly string[] | null;
    readonly holdout: number;
    readonly valFraction: number;
  };
  readonly concepts: { readonly total: number; readonly seen: number; readonly heldout: number };
  readonly styles: Partial<Record<EmojiStyleName, StyleCounts>>;
  /** Rows (or lines) per file; files a build did not write are absent. */
  readonly files: Partial<Record<DatasetFile, number>>;
  readonly images: number;
  /** Versions of every input that decides the bytes: data packages, font, sharp and libvips. */
  readonly packages: Record<string, string>;
}

/** One image to render and the rows it feeds. */
interface ImageJob {
  readonly style: EmojiStyleName;
  readonly concept: EmojiConcept;
  readonly variant?: EmojiVariant;
  readonly source: GlyphSource;
  /** Relative to the dataset root. */
  readonly image: string;
  /** The transparent rendering (training styles only), relative to the dataset root. */
  readonly foreground?: string;
}

const DEFAULTS = { size: 64, seed: 0, holdout: 0.2, valFraction: 0.05 } as const;

/**
 * Builds the dataset into `opts.outDir` and returns what manifest.json holds.
 *
 *   const m = await buildEmojiDataset({ outDir: "/tmp/emoji", limit: 20 });
 *   m.files["train.jsonl"] // 61
 */
export async function buildEmojiDataset(opts: EmojiDatasetOptions): Promise<EmojiManifest> {
  const options = resolveOptions(opts);
  const { concepts: allConcepts, pkg: emojibase } = loadEmojiConcepts();
  const concepts = selectConcepts(allConcepts, options.keys, options.limit);
  const noto = options.styles.includes("noto") ? await NotoFont.open(opts.notoFont) : undefined;
  // Check inputs before touching the output folder, so a missing package leaves it as it was.
  const indexes = options.styles.map((style) => indexStyle(style, wantedEmoji(concepts), noto));
  await prepareOutDir(opts.outDir);

  const jobs = imageJobs(indexes, concepts, options.allVariants);
  opts.onProgress?.(0, jobs.length);
  await renderAll(jobs, opts, options, noto);

  const rows = datasetRows(jobs, options);
  const files = await writeRowFiles(opts.outDir, rows, concepts, options.styles);
  const heldout = concepts.filter((c) => conceptSplit(c.key, options.holdout) === "heldout").length;
  const manifest: EmojiManifest = {
    dataset: "koclip-emoji",
    format: 1,
    options: {
      size: options.size,
      seed: options.seed,
      styles: options.styles,
      allVariants: options.allVariants,
      limit: options.limit ?? null,
      keys: options.keys ?? null,
      holdout: options.holdout,
      valFraction: options.valFraction,
    },
    concepts: { total: concepts.length, seen: concepts.length - heldout, heldout },
    styles: Object.fromEntries(indexes.map((idx) => [idx.style, styleCounts(idx, concepts, jobs, rows)])),
    files,
    images: jobs.length,
    packages: packageVersions(emojibase, indexes),
  };
  await writeFile(join(opts.outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

type ResolvedOptions = Required<Pick<EmojiDatasetOptions, "size" | "seed" | "allVariants" | "holdout" | "valFraction">> & {
  readonly styles: EmojiStyleName[];
  readonly limit?: number;
  readonly keys?: readonly string[];
};

function resolveOptions(opts: EmojiDatasetOptions): ResolvedOptions {
  const size = opts.size ?? DEFAULTS.size;
  const seed = opts.seed ?? DEFAULTS.seed;
  const holdout = opts.holdout ?? DEFAULTS.holdout;
  const valFraction = opts.valFraction ?? DEFAULTS.valFraction;
  if (!Number.isInteger(size) || size < 8 || size > 1024) {
    throw new Error(`size must be an integer in 8..1024, got ${size}`);
  }
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  if (!(holdout >= 0 && holdout < 1)) throw new Error(`holdout must be in [0, 1), got ${holdout}`);
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`valFraction must be in [0, 1), got ${valFraction}`);
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 1)) {
    throw new Error(`limit must be a positive integer, got ${opts.limit}`);
  }
  const wanted = opts.styles ?? EMOJI_STYLE_NAMES;
  if (wanted.length === 0) throw new Error("no styles to build");
  return {
    size,
    seed,
    holdout,
    valFraction,
    allVariants: opts.allVariants ?? false,
    // Canonical order, so the same set of styles always writes the same files.
    styles: EMOJI_STYLE_NAMES.filter((s) => wanted.includes(s)),
    limit: opts.limit,
    keys: opts.keys,
  };
}

function selectConcepts(
  all: EmojiConcept[],
  keys: readonly string[] | undefined,
  limit: number | undefined,
): EmojiConcept[] {
  let out = all;
  if (keys !== undefined) {
    const known = new Set(all.map((c) => c.key));
    const unknown = keys.filter((k) => !known.has(k));
    if (unknown.length > 0) throw new Error(`unknown emoji keys: ${unknown.join(", ")}`);
    const wanted = new Set(keys);
    out = out.filter((c) => wanted.has(c.key));
  }
  return limit === undefined ? out : out.slice(0, limit);
}

// Variants are always indexed so the manifest can report what each style has, even when a
// base-only build renders none of them.
function wantedEmoji(concepts: readonly EmojiConcept[]): WantedEmoji[] {
  return concepts.flatMap((c) => [
    { key: c.key, emoji: c.emoji, name: c.en.label },
    ...c.variants.map((v) => ({ key: v.key, emoji: v.emoji, name: v.en })),
  ]);
}

function imageJobs(indexes: readonly StyleIndex[], concepts: readonly EmojiConcept[], allVariants: boolean): ImageJob[] {
  const jobs: ImageJob[] = [];
  for (const idx of indexes) {
    // Evaluation files are base emoji only, so OpenMoji's skin tones are never rendered.
    const withVariants = allVariants && EMOJI_STYLES[idx.style].role === "train";
    for (const concept of concepts) {
      const job = (key: string, source: GlyphSource, variant?: EmojiVariant): ImageJob => ({
        style: idx.style,
        concept,
        variant,
        source,
        image: imagePath(IMAGES_DIR, idx.style, key),
        foreground: EMOJI_STYLES[idx.style].role === "train" ? imagePath(FOREGROUNDS_DIR, idx.style, key) : undefined,
      });
      const base = idx.sources.get(concept.key);
      if (base) jobs.push(job(concept.key, base));
      if (!withVariants) continue;
      for (const variant of concept.variants) {
        const source = idx.sources.get(variant.key);
        if (source) jobs.push(job(variant.key, source, variant));
      }
    }
  }
  return jobs;
}

function imagePath(dir: string, style: EmojiStyleName, key: string): string {
  return `${dir}/${style}/${key}.png`;
}

async function renderAll(jobs: readonly ImageJob[], opts: EmojiDatasetOptions, options: ResolvedOptions, noto?: NotoFont) {
  for (const job of jobs) {
    for (const file of [job.image, job.foreground]) if (file) await mkdir(dirname(join(opts.outDir, file)), { recursive: true });
  }
  // 64 px images are far too small to split across libvips threads; run many images at once,
  // one thread each, instead. libvips' operation cache only costs time here (no image is read
  // twice). Both settings are process-wide, so they are restored afterwards.
  const previousThreads = sharp.concurrency();
  const previousCache = sharp.cache();
  sharp.concurrency(1);
  sharp.cache(false);
  let done = 0;
  try {
    await mapPool(jobs, opts.concurrency ?? 2 * availableParallelism(), async (job) => {
      const key = job.variant?.key ?? job.concept.key;
      const rng = new SeededRandom(`${options.seed}|${job.style}|${key}`);
      const style = { artShare: EMOJI_STYLES[job.style].artShare, noto };
      await writeFile(join(opts.outDir, job.image), await renderEmojiPng(job.source, options.size, rng, style));
      if (job.foreground) await writeFile(join(opts.outDir, job.foreground), await renderEmojiForegroundPng(job.source, options.size, style));
      opts.onProgress?.(++done, jobs.length);
    });
  } finally {
    sharp.concurrency(previousThreads);
    sharp.cache({ memory: previousCache.memory.max, files: previousCache.files.max, items: previousCache.items.max });
  }
}

interface DatasetRows {
  train: PairRow[];
  trainBilingual: PairRow[];
  val: PairRow[];
  heldout: PairRow[];
  evalPairsKo: PairRow[];
  evalPairsEn: PairRow[];
  evalClsKo: ClassRow[];
  evalClsEn: ClassRow[];
}

function datasetRows(jobs: readonly ImageJob[], options: ResolvedOptions): DatasetRows {
  const rows: DatasetRows = {
    train: [],
    trainBilingual: [],
    val: [],
    heldout: [],
    evalPairsKo: [],
    evalPairsEn: [],
    evalClsKo: [],
    evalClsEn: [],
  };
  for (const job of jobs) {
    const { concept, variant, style, image, foreground } = job;
    const split: ConceptSplit = conceptSplit(concept.key, options.holdout);
    const ko = captions(concept.ko, variant?.ko);
    const en = captions(concept.en, variant?.en);
    const key = concept.key;
    if (EMOJI_STYLES[style].role === "test") {
      rows.evalPairsKo.push({ image, texts: ko, key, style, split });
      rows.evalPairsEn.push({ image, texts: en, key, style, split });
      rows.evalClsKo.push({ image, label: concept.ko.label, key, split });
      rows.evalClsEn.push({ image, label: concept.en.label, key, split });
    } else if (split === "heldout") {
      rows.heldout.push({ image, foreground, texts: ko, key, style });
    } else if (isValidationImage(style, variant?.key ?? key, options.valFraction)) {
      rows.val.push({ image, foreground, texts: ko, key, style });
    } else {
      rows.train.push({ image, foreground, texts: ko, key, style });
      // Each image twice, so each language's name leads its own row (training samples the first caption most).
      rows.trainBilingual.push({ image, foreground, texts: ko, key, style }, { image, foreground, texts: en, key, style });
    }
  }
  return rows;
}

/** Writes the JSONL and class files; returns rows (lines) per file. Files for absent roles are not written. */
async function writeRowFiles(
  outDir: string,
  rows: DatasetRows,
  concepts: readonly EmojiConcept[],
  styles: readonly EmojiStyleName[],
): Promise<Partial<Record<DatasetFile, number>>> {
  const files: Partial<Record<DatasetFile, number>> = {};
  const jsonl = async (file: DatasetFile, data: readonly object[]) => {
    await writeJsonl(join(outDir, file), data);
    files[file] = data.length;
  };
  const lines = async (file: DatasetFile, data: readonly string[]) => {
    await writeLines(join(outDir, file), data);
    files[file] = data.length;
  };
  if (styles.some((s) => EMOJI_STYLES[s].role === "train")) {
    await jsonl("train.jsonl", rows.train);
    await jsonl("train-bilingual.jsonl", rows.trainBilingual);
    await jsonl("val.jsonl", rows.val);
    await jsonl("heldout.jsonl", rows.heldout);
  }
  if (styles.includes("openmoji")) {
    await jsonl("openmoji-pairs.jsonl", rows.evalPairsKo);
    await jsonl("openmoji-pairs-en.jsonl", rows.evalPairsEn);
    await jsonl("openmoji-cls.jsonl", rows.evalClsKo);
    await jsonl("openmoji-cls-en.jsonl", rows.evalClsEn);
  }
  await lines("classes-ko.txt", concepts.map((c) => c.ko.label));
  await lines("classes-en.txt", concepts.map((c) => c.en.label));
  return files;
}

/** Every input that decides the output bytes: the text data, each style's source, the rasteriser. */
function packageVersions(emojibase: InstalledPackage, indexes: readonly StyleIndex[]): Record<string, string> {
  const packages: Record<string, string> = { [emojibase.name]: emojibase.version };
  for (const idx of indexes) Object.assign(packages, idx.provenance);
  packages["sharp"] = sharp.versions.sharp ?? "unknown";
  packages["libvips"] = sharp.versions.vips;
  packages["librsvg"] = sharp.versions.rsvg ?? "unknown";
  return packages;
}

function styleCounts(
  idx: StyleIndex,
  concepts: readonly EmojiConcept[],
  jobs: readonly ImageJob[],
  rows: DatasetRows,
): StyleCounts {
  const info = EMOJI_STYLES[idx.style];
  const base = concepts.filter((c) => idx.sources.has(c.key)).length;
  const variants = concepts.reduce((n, c) => n + c.variants.filter((v) => idx.sources.has(v.key)).length, 0);
  const count = (list: readonly { style?: string; image: string }[]) =>
    list.filter((r) => r.image.startsWith(`${IMAGES_DIR}/${idx.style}/`)).length;
  return {
    role: info.role,
    licence: info.licence,
    available: { base, all: base + variants },
    images: jobs.filter((j) => j.style === idx.style).length,
    train: count(rows.train),
    val: count(rows.val),
    heldout: count(rows.heldout),
    eval: count(rows.evalClsKo),
  };
}
