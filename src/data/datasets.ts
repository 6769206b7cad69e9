/**
 * Reading the JSON Lines datasets that training and evaluation share.
 *
 * Pairs (image–caption), one object per line:
 *   {"image": "images/twemoji/1f431.png", "text": "고양이"}
 *   {"image": "images/twemoji/1f431.png", "texts": ["고양이 얼굴", "고양이"]}
 * Classification:
 *   {"image": "images/openmoji/1f431.png", "label": "고양이 얼굴"}
 *
 * Image paths are relative to the JSONL file (absolute paths are kept as they are). Fields other
 * than image/text/texts/label are kept in `extra` (the emoji dataset's `key`, `style`, `split`).
 * Blank lines are ignored. A bad row is reported with its 1-based line number and skipped, or,
 * with `strict: true`, throws `file:line: reason` at the first one.
 *
 *   const d = readPairs("data/emoji/val.jsonl");
 *   d.rows[0]     // { image: "/abs/.../images/noto/1f600.png", texts: ["활짝 웃는 얼굴", ...], line: 1, extra: {...} }
 *   if (d.bad.length) console.error(formatBadRows(d));
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";

/** An image with one or more captions. */
export interface PairRow {
  /** Absolute path of the image file. */
  image: string;
  /** At least one non-empty caption. */
  texts: string[];
  /** 1-based line in the JSONL file. */
  line: number;
  /** Every field besides image/text/texts. */
  extra: Record<string, unknown>;
}

/** An image with its class name. */
export interface ClassRow {
  /** Absolute path of the image file. */
  image: string;
  label: string;
  /** 1-based line in the JSONL file. */
  line: number;
  /** Every field besides image/label. */
  extra: Record<string, unknown>;
}

/** A skipped line and why. */
export interface BadRow {
  line: number;
  reason: string;
}

/** The rows of one JSONL file, and the lines that were skipped. */
export interface Dataset<T> {
  file: string;
  rows: T[];
  bad: BadRow[];
}

export interface ReadOptions {
  /** Throw at the first bad row instead of skipping it. */
  strict?: boolean;
}

/** Raised (by a reader given `strict: true`) for the first bad row: the message is `file:line: reason`. */
export class DatasetRowError extends Error {
  constructor(readonly file: string, readonly line: number, readonly reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = "DatasetRowError";
  }
}

/** Thrown inside a row parser; the reader turns it into a BadRow. */
class BadRowReason extends Error {}

/** A UTF-8 text file's content; a missing file, a folder or no permission is a one-line error naming the path. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new Error(`${file}: no such file`);
    if (code === "EISDIR") throw new Error(`${file}: is a folder, not a file`);
    if (code === "EACCES" || code === "EPERM") throw new Error(`${file}: permission denied`);
    throw err;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Resolves and checks the row's `image` field. */
function imagePath(obj: Record<string, unknown>, baseDir: string): string {
  const image = obj.image;
  if (image === undefined || image === null) throw new BadRowReason("missing image");
  if (typeof image !== "string") throw new BadRowReason(`image is ${typeof image}, expected a string`);
  if (image.trim() === "") throw new BadRowReason("empty image");
  const abs = isAbsolute(image) ? image : resolve(baseDir, image);
  if (!isFile(abs)) throw new BadRowReason(`image not found: ${image}`);
  return abs;
}

function without(obj: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)));
}

/**
 * Parses every non-blank line with `parseRow`, collecting bad rows (or throwing the first one
 * when strict). The line number counts blank lines too, so it matches an editor's.
 */
function readJsonl<T>(file: string, opts: ReadOptions, parseRow: (obj: Record<string, unknown>, line: number, baseDir: string) => T): Dataset<T> {
  const baseDir = dirname(resolve(file));
  const rows: T[] = [];
  const bad: BadRow[] = [];
  const lines = readTextFile(file).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim(); // also drops a \r from CRLF files
    if (text === "") continue;
    const line = i + 1;
    try {
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (err) {
        throw new BadRowReason(`invalid JSON (${(err as Error).message})`);
      }
      if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new BadRowReason("not a JSON object");
      rows.push(parseRow(obj as Record<string, unknown>, line, baseDir));
    } catch (err) {
      if (!(err instanceof BadRowReason)) throw err;
      if (opts.strict) throw new DatasetRowError(file, line, err.message);
      bad.push({ line, reason: err.message });
    }
  }
  return { file, rows, bad };
}

/** The captions of a pair row: `text` (a string) or `texts` (a non-empty array of strings). */
function captions(obj: Record<string, unknown>): string[] {
  const hasText = obj.text !== undefined;
  const hasTexts = obj.texts !== undefined;
  if (hasText && hasTexts) throw new BadRowReason("has both text and texts");
  if (!hasText && !hasTexts) throw new BadRowReason("missing text (or texts)");
  if (hasText) {
    if (typeof obj.text !== "string") throw new BadRowReason(`text is ${obj.text === null ? "null" : typeof obj.text}, expected a string`);
    if (obj.text.trim() === "") throw new BadRowReason("empty text");
    return [obj.text];
  }
  if (!Array.isArray(obj.texts)) throw new BadRowReason("texts is not an array of strings");
  if (obj.texts.length === 0) throw new BadRowReason("empty texts");
  return obj.texts.map((t, k) => {
    if (typeof t !== "string") throw new BadRowReason(`texts[${k}] is ${t === null ? "null" : typeof t}, expected a string`);
    if (t.trim() === "") throw new BadRowReason(`empty text in texts[${k}]`);
    return t;
  });
}

/**
 * Reads an image–caption JSONL file. Each caption of a multi-caption row is one text of that image.
 *
 *   const { rows, bad } = readPairs("data/emoji/openmoji-pairs.jsonl");
 */
export function readPairs(file: string, opts: ReadOptions = {}): Dataset<PairRow> {
  return readJsonl(file, opts, (obj, line, baseDir) => {
    const image = imagePath(obj, baseDir);
    const texts = captions(obj);
    return { image, texts, line, extra: without(obj, ["image", "text", "texts"]) };
  });
}

/** Class names from a file with one per line (blank lines ignored, duplicates refused). */
export function readClassesFile(file: string): string[] {
  const names = readTextFile(file).split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (names.length === 0) throw new Error(`${file}: no class names (one per line)`);
  const seen = new Set<string>();
  names.forEach((n) => {
    if (seen.has(n)) throw new Error(`${file}: class '${n}' is listed twice`);
    seen.add(n);
  });
  return names;
}

/**
 * Reads a classification JSONL file. `classes` are the distinct labels in order of first
 * appearance, or the names in `classesFile` (then a row whose label is not listed is a bad row).
 *
 *   const d = readClassification("data/emoji/openmoji-cls.jsonl", { classesFile: "data/emoji/classes-ko.txt" });
 *   d.classes.length   // 1914 on the full emoji build
 */
export function readClassification(file: string, opts: ReadOptions & { classesFile?: string } = {}): Dataset<ClassRow> & { classes: string[] } {
  const given = opts.classesFile === undefined ? undefined : new Set(readClassesFile(opts.classesFile));
  const d = readJsonl(file, opts, (obj, line, baseDir) => {
    const image = imagePath(obj, baseDir);
    const label = obj.label;
    if (label === undefined || label === null) throw new BadRowReason("missing label");
    if (typeof label !== "string") throw new BadRowReason(`label is ${typeof label}, expected a string`);
    if (label.trim() === "") throw new BadRowReason("empty label");
    if (given && !given.has(label)) throw new BadRowReason(`label '${label}' is not in ${opts.classesFile}`);
    return { image, label, line, extra: without(obj, ["image", "label"]) };
  });
  const classes = given ? [...given] : [...new Set(d.rows.map((r) => r.label))];
  return { ...d, classes };
}

/**
 * The bad rows as `file:line: reason` lines (at most `max`, default 10), then a count line;
 * an empty string when there are none.
 *
 *   file.jsonl:3: image not found: images/x.png
 *   file.jsonl:7: invalid JSON (Unexpected token ...)
 *   2 bad rows skipped
 */
export function formatBadRows(d: Dataset<unknown>, max = 10): string {
  if (d.bad.length === 0) return "";
  const lines = d.bad.slice(0, max).map((b) => `${d.file}:${b.line}: ${b.reason}`);
  if (d.bad.length > max) lines.push(`... and ${d.bad.length - max} more`);
  lines.push(`${d.bad.length} bad row${d.bad.length === 1 ? "" : "s"} skipped`);
  return lines.join("\n");
}

/** Which of the two formats a JSONL file holds. */
export type DatasetKind = "pairs" | "classification";

/**
 * The format of a JSONL file, judged by its first JSON object that has a `label` (classification)
 * or a `text`/`texts` field (pairs).
 *
 *   sniffDatasetKind("data/emoji/openmoji-cls.jsonl")   // "classification"
 */
export function sniffDatasetKind(file: string): DatasetKind {
  for (const text of readTextFile(file).split("\n")) {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      continue;
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) continue;
    if ("label" in obj) return "classification";
    if ("text" in obj || "texts" in obj) return "pairs";
  }
  throw new Error(`${file}: no row with a label (classification) or text/texts (pairs)`);
}
