/**
 * What the server and web tests share: a small indexed collection built through the real
 * `indexFolder` in a temporary folder, multipart bodies for `app.inject`, and the ranking model.
 * The collection holds the image-processor fixture images plus `escape.png`, a symlink to a file
 * outside the indexed folder (the path-traversal case for `?full=1`).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Collection } from "../../src/index/collection.js";
import { indexFolder } from "../../src/index/build.js";
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
