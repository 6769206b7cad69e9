/**
 * What the server and web tests share: a small indexed collection built through the real
 * `indexFolder` in a temporary folder, multipart bodies for `app.inject`, and the ranking model.
 * The collection holds the image-processor fixture images plus `escape.png`, a symlink to a file
 * outside the indexed folder (the path-traversal case for `?full=1`).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { Collection } from "../../src/collection/collection.js";
import { indexFolder } from "../../src/collection/build.js";
import type { PretrainedModel } from "../../src/models/pretrained.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";

export const TINY_MODEL = () => fixture("koclip-tiny", "model");
export const FIXTURE_IMAGES = () => fixture("image-processor", "images");

/** The model ranking assertions run against, or null (with the reason printed) when it is missing. */
export function rankingModelDir(): string | null {
  const dir = process.env.KOCLIP_TEST_MODEL ?? join(REPO_ROOT, "models", "koclip-emoji");
  if (existsSync(join(dir, "config.json"))) return dir;
  console.log(`# skipping ranking assertions: no model at ${dir} (set KOCLIP_TEST_MODEL or train models/koclip-emoji)`);
  return null;
}

export interface TestCollection {
  collection: Collection;
  /** The indexed folder. */
  root: string;
  /** A file outside `root` that `root/escape.png` links to. */
  outside: string;
  cleanup(): void;
}

/**
 * Copies `images` (default: every fixture image) into a fresh folder, indexes it with `model`
 * through indexFolder, and opens the index read-only as the server does.
 */
export async function buildTestCollection(model: PretrainedModel, images: { name: string; from: string }[] = fixtureImages()): Promise<TestCollection> {
  const tmp = mkdtempSync(join(tmpdir(), "koclip-serve-"));
  const root = join(tmp, "photos");
  mkdirSync(root);
  for (const img of images) copyFileSync(img.from, join(root, img.name));
  const outside = join(tmp, "outside-secret.png");
  copyFileSync(join(FIXTURE_IMAGES(), "small_100x60.png"), outside);
  symlinkSync(outside, join(root, "escape.png"));
  const db = join(tmp, "index.db");
  await indexFolder(root, model, { db, batchSize: 8 });
  const collection = Collection.open(db, { readonly: true });
  return {
    collection,
    root,
    outside,
    cleanup() {
      collection.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Emoji for ranking tests: file name, Twemoji code point, and the Korean word that should find it. */
// Concepts the emoji dataset's split marks "seen" (🍕 and 🐟 are held out of training), named by
// a word of their CLDR name, so the ranking checks test search rather than generalisation.
export const EMOJI_CASES = [
  { name: "cat.png", code: "1f431", word: "고양이" },
  { name: "dog.png", code: "1f436", word: "강아지" },
  { name: "car.png", code: "1f697", word: "자동차" },
  { name: "apple.png", code: "1f34e", word: "사과" },
  { name: "blossom.png", code: "1f338", word: "벚꽃" },
  { name: "heart.png", code: "2764", word: "하트" },
] as const;

/**
 * Renders EMOJI_CASES from @twemoji/svg into 96 px PNGs on grey (the emoji dataset's look) in a
 * fresh folder; returns the list for buildTestCollection.
 */
export async function emojiImages(): Promise<{ name: string; from: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), "koclip-emoji-"));
  const svgDir = join(REPO_ROOT, "node_modules", "@twemoji", "svg");
  const out = [];
  for (const e of EMOJI_CASES) {
    const from = join(dir, e.name);
    await sharp(readFileSync(join(svgDir, `${e.code}.svg`)), { density: 200 })
      .resize(80, 80)
      .extend({ top: 8, bottom: 8, left: 8, right: 8, background: "#d8d8d8" })
      .flatten({ background: "#d8d8d8" })
      .png()
      .toFile(from);
    out.push({ name: e.name, from });
  }
  return out;
}

export function fixtureImages(): { name: string; from: string }[] {
  return readdirSync(FIXTURE_IMAGES()).sort().map((name) => ({ name, from: join(FIXTURE_IMAGES(), name) }));
}

export type FormValue = string | { data: Buffer; filename: string; type?: string };

/** A multipart/form-data body and its content-type, for app.inject or fetch. */
export async function multipart(fields: [string, FormValue][]): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const fd = new FormData();
  for (const [name, v] of fields) {
    if (typeof v === "string") fd.append(name, v);
    else fd.append(name, new Blob([v.data], { type: v.type ?? "application/octet-stream" }), v.filename);
  }
  const req = new Request("http://localhost/", { method: "POST", body: fd });
  return { payload: Buffer.from(await req.arrayBuffer()), headers: { "content-type": req.headers.get("content-type")! } };
}
