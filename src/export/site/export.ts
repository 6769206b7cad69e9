/**
 * exportSite: a collection as a static web page that searches it in the browser, no server: the
 * page (web/site/ and web/style.css), JPEG thumbnails, the image vectors (float16, or int8 with a
 * scale per row), the model's ONNX text tower and tokenizer, and the two libraries the page runs,
 * copied from their npm packages (tokenizers.js's ES module build; onnxruntime-web's wasm build).
 * Any static host serves the folder: a file server, object storage, GitHub Pages.
 *
 *   const model = await loadModel("models/koclip-emoji");
 *   const c = Collection.open("photos.db", { readonly: true });
 *   await exportSite(c, model, "site", { vectors: "float16" });   // { images: 300, bytes: 27513344, files: [...] }
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { writeAll, writeFileAtomic } from "../../formats/file_io.js";
import type { Collection } from "../../collection/collection.js";
import { PACKAGE_ROOT } from "../../models/default_model.js";
import { modelMismatch } from "../../collection/query.js";
import type { PretrainedModel } from "../../models/pretrained.js";
import { browserTokenizerSpec } from "../../tokenizers/index.js";
import { tensor, tidy } from "../../torch/index.js";
import { exportableTowers, writeOnnx } from "../onnx/export.js";
import { textGraph } from "../onnx/towers.js";

/** How the image vectors are stored: float16 (2 bytes a value) or int8 with a float32 scale per row (1 byte). */
export type SiteVectorType = "float16" | "int8";
export const SITE_VECTOR_TYPES = ["float16", "int8"] as const;

export interface SiteExportOptions {
  /** Default float16. */
  vectors?: SiteVectorType;
}

export interface SiteExportResult {
  images: number;
  /** Total size of the folder's files. */
  bytes: number;
  /** Every file written, relative to the folder. */
  files: string[];
}

/** What site.json holds (read by web/site/site.js). */
export interface SiteManifest {
  format: 1;
  /** The model's folder name. */
  model: string;
  embedDim: number;
  images: { id: number; path: string; thumb: string; width: number; height: number }[];
  vectors: { dtype: SiteVectorType; file: string; scales?: string };
  text: {
    model: string;
    tokenizer: string;
    tokenizerConfig: { eos_token?: string; additional_special_tokens: string[] };
    maxLength: number;
    truncationSide: "left" | "right";
    unkTokenId: number | undefined;
  };
}

/**
 * Files copied from npm packages into vendor/: [package, path beside its resolved entry point,
 * name in vendor/]. onnxruntime-web's wasm-only build, with its loader bundled in, finds the
 * .wasm beside itself. tokenizers.js ships no notice inside its minified build, so its licence
 * goes along; onnxruntime-web's build carries its own header.
 */
const VENDOR_FILES: [string, string, string][] = [
  ["@huggingface/tokenizers", "tokenizers.min.mjs", "tokenizers.min.mjs"],
  ["@huggingface/tokenizers", "../LICENSE", "tokenizers.LICENSE"],
  ["onnxruntime-web", "ort.wasm.bundle.min.mjs", "ort.wasm.bundle.min.mjs"],
  ["onnxruntime-web", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.wasm"],
];

const require = createRequire(import.meta.url);

/** `file` beside the entry point node resolves for `pkg` (both packages keep their builds in dist/). */
function packageFile(pkg: string, file: string): string {
  const path = join(dirname(require.resolve(pkg)), file);
  if (!existsSync(path)) throw new Error(`${pkg}: ${path} not found (reinstall it: npm install ${pkg})`);
  return path;
}


/** Rows [N·D] as int8 with a per-row scale max|row|/127 (a zero row gets scale 1). */
function quantiseRows(flat: Float32Array, d: number): { q: Int8Array; scales: Float32Array } {
  const n = flat.length / d;
  const q = new Int8Array(flat.length), scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let max = 0;
    for (let i = r * d; i < (r + 1) * d; i++) max = Math.max(max, Math.abs(flat[i]!));
    const scale = max / 127 || 1;
    scales[r] = scale;
    for (let i = r * d; i < (r + 1) * d; i++) q[i] = Math.round(flat[i]! / scale);
  }
  return { q, scales };
}

/** Writes the static search site of `collection` into `outDir`; `model` must be the one that indexed it. */
export async function exportSite(collection: Collection, model: PretrainedModel, outDir: string, opts: SiteExportOptions = {}): Promise<SiteExportResult> {
  const vectorType = opts.vectors ?? "float16";
  const mismatch = modelMismatch(collection, model);
  if (mismatch) throw new Error(mismatch);
  if (existsSync(outDir) && readdirSync(outDir).length > 0 && !existsSync(join(outDir, "site.json"))) {
    throw new Error(`${outDir}: exists and is not an exported site; give an empty or new folder`);
  }
  const images = collection.list();
  if (images.length === 0) throw new Error(`${collection.dbFile}: no images indexed; nothing to export`);
  const { text } = exportableTowers(model.encoder);
  const spec = await browserTokenizerSpec(model.dir);

  // A previous export's: its manifest goes first (see write below), its thumbnails may be of images gone since.
  rmSync(join(outDir, "site.json"), { force: true });
  rmSync(join(outDir, "thumbs"), { recursive: true, force: true });
  for (const sub of ["thumbs", "model", "vendor"]) mkdirSync(join(outDir, sub), { recursive: true });
  const files: string[] = [];
  // Plain writes: an interrupted export is redone, not repaired, and a thousand fsyncs of
  // thumbnails cost more than the rest of the export. site.json, which the page opens first, is
  // written last and atomically, so a folder without it is never taken for a finished site.
  const write = (name: string, data: Uint8Array | string) => {
    writeFileSync(join(outDir, name), data);
    files.push(name);
  };
  const copy = (from: string, name: string) => {
    copyFileSync(from, join(outDir, name));
    files.push(name);
  };

  const d = model.embedDim;
  const flat = new Float32Array(images.length * d);
  const entries: SiteManifest["images"] = [];
  images.forEach((image, row) => {
    const thumb = `thumbs/${image.id}.jpg`;
    write(thumb, collection.thumbnail(image.id)!);
    flat.set(collection.embedding(image.id)!, row * d);
    entries.push({ id: image.id, path: image.relPath, thumb, width: image.width, height: image.height });
  });
  const vectors: SiteManifest["vectors"] = { dtype: vectorType, file: "vectors.bin" };
  if (vectorType === "float16") {
    write(vectors.file, tidy(() => tensor(flat).toDtype("float16").toBytes()));
  } else {
    const { q, scales } = quantiseRows(flat, d);
    vectors.scales = "scales.bin";
    write(vectors.file, new Uint8Array(q.buffer));
    write(vectors.scales, new Uint8Array(scales.buffer));
  }

  writeOnnx(join(outDir, "model/text_model.onnx"), textGraph(text, "fp32"));
  files.push("model/text_model.onnx");
  write("model/tokenizer.json", JSON.stringify(spec.json));
  for (const [pkg, file, name] of VENDOR_FILES) copy(packageFile(pkg, file), `vendor/${name}`);
  copy(join(PACKAGE_ROOT, "web", "style.css"), "style.css");
  for (const page of ["index.html", "site.js", "tokenize.js"]) copy(join(PACKAGE_ROOT, "web", "site", page), page);
  copy(join(PACKAGE_ROOT, "web", "hit_card.js"), "hit_card.js"); // the result card, shared with the served page

  const manifest: SiteManifest = {
    format: 1,
    model: model.dir.split(/[\\/]/).filter(Boolean).pop() ?? model.dir,
    embedDim: d,
    images: entries,
    vectors,
    text: {
      model: "model/text_model.onnx",
      tokenizer: "model/tokenizer.json",
      tokenizerConfig: spec.config,
      maxLength: model.maxTextLength,
      truncationSide: spec.truncationSide,
      unkTokenId: spec.unkTokenId,
    },
  };
  writeFileAtomic(join(outDir, "site.json"), (fd) => writeAll(fd, new TextEncoder().encode(JSON.stringify(manifest))));
  files.push("site.json");
  const bytes = files.reduce((sum, f) => sum + statSync(join(outDir, f)).size, 0);
  return { images: images.length, bytes, files };
}
