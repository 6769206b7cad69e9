/**
 * Getting files ready for the model: read, hash, decode, thumbnail, CLIP-preprocess. Runs in
 * the prepare worker (prepare_worker.ts), so it overlaps the forward passes on the main thread.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import sharp from "sharp";
import { decodeImage, ImageDecodeError, preprocessRawImage, type ImageProcessorConfig } from "../image/index.js";
import type { BatchResult } from "./store.js";
import type { FoundFile } from "./walk.js";

/** Longest side of stored thumbnails. */
export const THUMBNAIL_SIZE = 256;

/** A file ready for the model, or already finished (touched/skipped). */
export type Prepared = BatchResult | { kind: "pixels"; file: FoundFile; hash: string; width: number; height: number; pixels: Float32Array; thumbnail: Buffer };

/** What preparing a batch needs: the files, the hashes the index has for them, preprocessing. */
export interface PrepareRequest {
  files: FoundFile[];
  /** rel → sha256 recorded in the index (files it knows). */
  knownHashes: Map<string, string>;
  imageConfig: ImageProcessorConfig;
  maxPixels: number;
}

/** Prepares a batch with a few files in flight at once (each holds a decoded image). */
export async function prepareBatch(req: PrepareRequest): Promise<Prepared[]> {
  const out: Prepared[] = new Array(req.files.length);
  let next = 0;
  const worker = async () => {
    while (next < req.files.length) {
      const i = next++;
      out[i] = await prepareFile(req.files[i]!, req.knownHashes.get(req.files[i]!.rel), req.imageConfig, req.maxPixels);
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.files.length, Math.max(2, availableParallelism())) }, worker));
  return out;
}

async function prepareFile(file: FoundFile, knownHash: string | undefined, imageConfig: ImageProcessorConfig, maxPixels: number): Promise<Prepared> {
  const base = { rel: file.rel, size: file.size, mtimeMs: file.mtimeMs };
  let bytes: Buffer;
  try {
    bytes = await readFile(file.abs);
  } catch (err) {
    return { kind: "skipped", ...base, reason: `unreadable: ${(err as Error).message}` };
  }
  // Size and mtime come from the walk; if the file changed since, the next run sees it again.
  const hash = createHash("sha256").update(bytes).digest("hex");
  if (knownHash === hash) return { kind: "touched", ...base };
  if (bytes.length === 0) return { kind: "skipped", ...base, reason: "unreadable: empty file" };
  try {
    const raw = await decodeImage(bytes, maxPixels);
    const thumbnail = await sharp(Buffer.from(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength), { raw: { width: raw.width, height: raw.height, channels: 3 } })
      .resize({ width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, fit: "inside", withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer();
    const { data } = preprocessRawImage(raw, imageConfig);
    return { kind: "pixels", file, hash, width: raw.width, height: raw.height, pixels: data, thumbnail };
  } catch (err) {
    const message = oneLine((err as Error).message.replace("buffer", file.rel));
    return { kind: "skipped", ...base, reason: `${err instanceof ImageDecodeError ? err.reason : "unreadable"}: ${message}` };
  }
}

/** libvips repeats its warnings over several lines: keep each distinct line once. */
function oneLine(message: string): string {
  return [...new Set(message.split("\n").map((l) => l.trim()).filter((l) => l !== ""))].join("; ");
}
