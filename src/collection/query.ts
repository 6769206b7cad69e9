/**
 * Queries against a collection: text → image and image → image.
 *
 *   const c = Collection.open("photos.db", { readonly: true });
 *   await searchByText(c, model, "바닷가의 강아지", 5)   // [{ id, path, score }, ...] best first
 */
import { DEFAULT_MAX_PIXELS, decodeImage, preprocessRawImage } from "../image/index.js";
import type { PretrainedModel } from "../models/pretrained.js";
import type { Collection, SearchHit } from "./collection.js";
import { modelFingerprint } from "./fingerprint.js";

const fingerprints = new WeakMap<PretrainedModel, string>();

/**
 * Why `model` cannot query `c`, or null when it can: the index must have been made by the same
 * model (fingerprint of its files), else the vectors live in different spaces.
 */
export function modelMismatch(c: Collection, model: PretrainedModel): string | null {
  const s = c.status();
  if (s.embedDim === null) return null; // empty, never-indexed collection
  if (s.embedDim !== model.embedDim) return `${c.dbFile} holds ${s.embedDim}-d embeddings from ${s.model}; model ${model.dir} makes ${model.embedDim}-d ones`;
  let fp = fingerprints.get(model);
  if (fp === undefined) fingerprints.set(model, (fp = modelFingerprint(model.dir)));
  if (s.modelFingerprint !== null && s.modelFingerprint !== fp) {
    return `${c.dbFile} was indexed with another model (${s.model}, fingerprint ${s.modelFingerprint}); ${model.dir} has fingerprint ${fp} — query with that model or re-index`;
  }
  return null;
}

function assertCompatible(c: Collection, model: PretrainedModel): void {
  const why = modelMismatch(c, model);
  if (why) throw new Error(why);
}

/** The k images that best match a text. */
export async function searchByText(c: Collection, model: PretrainedModel, text: string, k: number): Promise<SearchHit[]> {
  assertCompatible(c, model);
  const [q] = await model.encodeTexts([text]);
  return c.search(q!, k);
}

/**
 * The k images most like an image (a path or encoded bytes). An indexed image finds itself
 * first, with score ~1. Throws ImageDecodeError for unreadable or too-large images.
 */
export async function searchByImage(c: Collection, model: PretrainedModel, image: string | Buffer, k: number, opts: { maxPixels?: number } = {}): Promise<SearchHit[]> {
  assertCompatible(c, model);
  const raw = await decodeImage(image, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
  const { data, height, width } = preprocessRawImage(raw, model.imageConfig);
  const [q] = await model.encodeImages([{ data, shape: [1, 3, height, width] }]);
  return c.search(q!, k);
}
