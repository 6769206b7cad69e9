/**
 * Multipart uploads: files are buffered (each at most limits.maxUploadBytes) and the form becomes
 * a plain body object — text fields as strings (repeated fields as arrays), files as Buffers — so
 * the same JSON schemas validate JSON and multipart requests. Each image is then checked from its
 * header alone (format, width × height against limits.maxPixels) before the model sees it.
 *
 *   await registerUploads(app, limits);
 *   const [img] = await uploadedImages(request, "image", limits, { min: 1, max: 1 });
 */
import multipart, { type MultipartFile } from "@fastify/multipart";
import type { FastifyInstance, FastifyRequest } from "fastify";
import sharp from "sharp";
import { HttpError, limitError } from "./errors.js";
import type { ServerLimits } from "./types.js";

/** One uploaded image, checked: decodable header, at most maxPixels. */
export interface UploadedImage {
  field: string;
  filename: string | null;
  data: Buffer;
  width: number;
  height: number;
}

const fileNames = new WeakMap<FastifyRequest, Map<Buffer, string>>();

/** Registers @fastify/multipart with the limits (files, sizes, fields). */
export async function registerUploads(app: FastifyInstance, limits: ServerLimits): Promise<void> {
  await app.register(multipart, {
    attachFieldsToBody: "keyValues",
    limits: {
      fileSize: limits.maxUploadBytes,
      files: limits.maxBatch,
      fields: limits.maxBatch + 2 * limits.maxLabels + 8,
      // Long enough that schema maxLength, not a silent truncation, rejects a long text.
      fieldSize: Math.max(4096, limits.maxTextLength * 8),
    },
    async onFile(this: FastifyRequest, part: MultipartFile) {
      const data = await part.toBuffer();
      let names = fileNames.get(this);
      if (!names) fileNames.set(this, (names = new Map()));
      if (part.filename) names.set(data, part.filename);
    },
  });
}

/** The body field `field` as a list: absent → [], one value → [value]. */
function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Reads width and height from the header; refuses non-images and images over maxPixels. */
export async function checkImage(data: Buffer, label: string, limits: ServerLimits): Promise<{ width: number; height: number }> {
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(data, { limitInputPixels: false }).metadata());
  } catch {
    throw new HttpError(400, "bad_image", `${label} is not an image koclip can read (png, jpeg, webp, gif, tiff, avif, heic)`);
  }
  if (!width || !height) throw new HttpError(400, "bad_image", `${label} has no width/height in its header`);
  if (width * height > limits.maxPixels) {
    throw limitError(413, "maxPixels", limits, `${label} is ${width}x${height} = ${width * height} pixels`);
  }
  return { width, height };
}

/**
 * The images uploaded under `field`, each checked with `checkImage`. A text value where a file
 * belongs, or a count outside [min, max], is a 400.
 */
export async function uploadedImages(request: FastifyRequest, field: string, limits: ServerLimits, count: { min: number; max: number }): Promise<UploadedImage[]> {
  if (!request.isMultipart()) {
    if (count.min === 0) return [];
    throw new HttpError(400, "image_required", `upload the image as multipart/form-data with a file field '${field}'`);
  }
  const values = asList((request.body as Record<string, unknown> | undefined)?.[field]);
  if (values.length < count.min) throw new HttpError(400, "image_required", `missing the file field '${field}'`);
  if (values.length > count.max) {
    throw count.max === 1 ? new HttpError(400, "too_many_images", `send one file in '${field}', got ${values.length}`) : limitError(400, "maxBatch", limits, `${values.length} files in '${field}'`);
  }
  const names = fileNames.get(request);
  const out: UploadedImage[] = [];
  for (const [i, v] of values.entries()) {
    if (!Buffer.isBuffer(v)) throw new HttpError(400, "image_required", `'${field}' must be a file upload, not a text field`);
    const filename = names?.get(v) ?? null;
    const label = `${field}${values.length > 1 ? `[${i}]` : ""}${filename ? ` (${filename})` : ""}`;
    out.push({ field, filename, data: v, ...(await checkImage(v, label, limits)) });
  }
  return out;
}
