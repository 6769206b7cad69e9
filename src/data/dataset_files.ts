/**
 * The files of a built dataset: row shapes, JSONL writing, and preparing the output folder.
 *
 * Every JSONL row names its image relative to the JSONL file (all JSONL files sit in the dataset
 * root), so a dataset folder can be moved or copied as a whole.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** An image with captions: the name first, then keywords. Extra fields say where it came from. */
export interface PairRow {
  readonly image: string;
  /** The same emoji on a transparent background (training styles only), relative like `image`. */
  readonly foreground?: string;
  readonly texts: readonly string[];
  /** Concept key (the base emoji's, also for skin-tone variants). */
  readonly key: string;
  readonly style: string;
  /** Whether the concept was seen in training; only in evaluation files. */
  readonly split?: "seen" | "heldout";
}

/** An image with its class name, for zero-shot classification. */
export interface ClassRow {
  readonly image: string;
  readonly label: string;
  readonly key: string;
  readonly split: "seen" | "heldout";
}

/** Folder under the dataset root that holds `<style>/<key>.png`. */
export const IMAGES_DIR = "images";
/** Folder with the training styles' transparent `<style>/<key>.png`, drawn anew each training step. */
export const FOREGROUNDS_DIR = "foregrounds";

/** Every file a build writes besides images; a rebuild replaces exactly these. */
export const DATASET_FILES = [
  "train.jsonl",
  "train-bilingual.jsonl",
  "val.jsonl",
  "heldout.jsonl",
  "openmoji-pairs.jsonl",
  "openmoji-pairs-en.jsonl",
  "openmoji-cls.jsonl",
  "openmoji-cls-en.jsonl",
  "classes-ko.txt",
  "classes-en.txt",
  "manifest.json",
] as const;

/** One of the files in DATASET_FILES. */
export type DatasetFile = (typeof DATASET_FILES)[number];

/**
 * Makes `dir` ready for a build. An existing dataset (it has manifest.json) is cleared of the
 * files a build writes; any other non-empty folder is refused, so a typo cannot wipe a folder.
 */
export async function prepareOutDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.length === 0) return;
  if (!entries.includes("manifest.json")) {
    throw new Error(`${dir} is not empty and has no manifest.json; choose an empty or new folder`);
  }
  for (const images of [IMAGES_DIR, FOREGROUNDS_DIR]) await rm(join(dir, images), { recursive: true, force: true });
  for (const file of DATASET_FILES) if (existsSync(join(dir, file))) await rm(join(dir, file));
}

/** Writes rows as JSON Lines (one object per line, trailing newline, UTF-8 as is). */
export async function writeJsonl(path: string, rows: readonly object[]): Promise<void> {
  await writeFile(path, rows.map((r) => JSON.stringify(r) + "\n").join(""));
}

/** Writes one line per entry. */
export async function writeLines(path: string, lines: readonly string[]): Promise<void> {
  await writeFile(path, lines.map((l) => l + "\n").join(""));
}
