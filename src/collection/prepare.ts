/**
 * Getting files ready for the model: read, hash, decode, thumbnail, CLIP-preprocess. Runs in
 * the prepare workers (prepare_worker.ts), off the main thread whose event loop a forward pass blocks.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import sharp from "sharp";
import { decodeImage, ImageDecodeError, preprocessRawImage, resizeRgb8, type ImageProcessorConfig, type RawImage } from "../image/index.js";
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

/**
 * Prepares a batch with two files in flight (each holds a decoded image): one decoding in
 * sharp's threads while this thread resizes the other.
 */
export async function prepareBatch(req: PrepareRequest): Promise<Prepared[]> {
  const out: Prepared[] = new Array(req.files.length);
  let next = 0;
  const worker = async () => {
    while (next < req.files.length) {
      const i = next++;
      out[i] = await prepareFile(req.files[i]!, req.knownHashes.get(req.files[i]!.rel), req.imageConfig, req.maxPixels);
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.files.length, 2) }, worker));
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
    const thumbnail = await jpegThumbnail(raw);
    const { data } = preprocessRawImage(raw, imageConfig);
    return { kind: "pixels", file, hash, width: raw.width, height: raw.height, pixels: data, thumbnail };
  } catch (err) {
    const message = oneLine((err as Error).message.replace("buffer", file.rel));
    return { kind: "skipped", ...base, reason: `${err instanceof ImageDecodeError ? err.reason : "unreadable"}: ${message}` };
  }
}

/**
 * The stored thumbnail: at most THUMBNAIL_SIZE on its longer side, never enlarged, JPEG. Resized
 * by our resampler from the pixels already decoded (1.5 ms less per 640x480 photo than sharp's
 * resize of the same pixels), then encoded by sharp.
 */
async function jpegThumbnail(raw: RawImage): Promise<Buffer> {
  const scale = Math.min(1, THUMBNAIL_SIZE / Math.max(raw.width, raw.height));
  const width = Math.max(1, Math.round(raw.width * scale));
  const height = Math.max(1, Math.round(raw.height * scale));
  const small = scale < 1 ? resizeRgb8(raw, width, height, "bicubic") : raw;
  return sharp(Buffer.from(small.data.buffer, small.data.byteOffset, small.data.byteLength), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

/** libvips repeats its warnings over several lines: keep each distinct line once. */
function oneLine(message: string): string {
  return [...new Set(message.split("\n").map((l) => l.trim()).filter((l) => l !== ""))].join("; ");
}
