/**
 * Multipart uploads. Each route names its file fields and how many files each may hold
 * (`config.uploads`); parts are read one at a time as they stream in, and a file in a field the
 * route does not take, or one file too many, is refused before it is buffered. Accepted files are
 * buffered (each at most limits.maxUploadBytes) and the form becomes a plain body object — text
 * fields as strings, numbers and arrays where the route's multipart schema says so, files as
 * Buffers — so one JSON schema validates the form. Each image is then checked from its header
 * alone (format, width × height against limits.maxPixels) before the model sees it.
 *
 *   app.post("/api/search", { schema, config: { uploads: { image: 1 } } }, handler);
 *   const [img] = await uploadedImages(request, "image", limits, 1);
 */
import multipart from "@fastify/multipart";
import type { FastifyInstance, FastifyRequest } from "fastify";
import sharp from "sharp";
import { HttpError, limitError, toApiError } from "./errors.js";
import type { ServerLimits } from "./types.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** File fields a route takes and the most files each may hold; multipart files elsewhere are refused. */
    uploads?: Record<string, number>;
  }
}

/** One uploaded image, checked: decodable header, at most maxPixels. */
export interface UploadedImage {
  field: string;
  filename: string | null;
  data: Buffer;
  width: number;
  height: number;
}

/** sharp's names of the formats accepted from clients. */
const UPLOAD_FORMATS: ReadonlySet<string> = new Set(["jpeg", "png", "webp", "gif", "tiff", "heif"]);

const fileNames = new WeakMap<FastifyRequest, Map<Buffer, string>>();

/** Registers @fastify/multipart with the limits (files, sizes, fields) and the hook that reads forms. */
export async function registerUploads(app: FastifyInstance, limits: ServerLimits): Promise<void> {
  await app.register(multipart, {
    limits: {
      fileSize: limits.maxUploadBytes,
      files: limits.maxBatch,
      fields: limits.maxBatch + 2 * limits.maxLabels + 8,
      // Long enough that schema maxLength, not a silent truncation, rejects a long text.
      fieldSize: Math.max(4096, limits.maxTextLength * 8),
    },
  });
  app.addHook("preValidation", async (request) => {
    if (!request.isMultipart()) return;
    try {
      request.body = await readForm(request, limits);
    } catch (err) {
      // Answer now and throw away the rest of the upload unread: memory stays bounded and the
      // client still gets its 4xx rather than a reset connection.
      request.raw.unpipe();
      request.raw.removeAllListeners("data");
      request.raw.resume();
      throw asFormError(err, limits);
    }
  });
}

/** A parser failure is the client's malformed body; our own and fastify's coded errors keep their answer. */
function asFormError(err: unknown, limits: ServerLimits): unknown {
  if (err instanceof HttpError || !(err instanceof Error) || toApiError(err, limits).status < 500) return err;
  return new HttpError(400, "bad_multipart", `the multipart/form-data body cannot be parsed: ${err.message}`);
}

/** How the route's multipart schema types each text field ("array", "integer", ...). */
function fieldTypes(request: FastifyRequest): Record<string, string | undefined> {
  const body = request.routeOptions.schema?.body as { content?: Record<string, { schema?: { properties?: Record<string, { type?: string }> } }> } | undefined;
  const properties = body?.content?.["multipart/form-data"]?.schema?.properties ?? {};
  return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, v.type]));
}

/** Reads the parts in order, refusing unexpected or surplus files before buffering them. */
async function readForm(request: FastifyRequest, limits: ServerLimits): Promise<Record<string, unknown>> {
  const accepted = request.routeOptions.config.uploads ?? {};
  const types = fieldTypes(request);
  const values = new Map<string, unknown[]>();
  const names = new Map<Buffer, string>();
  fileNames.set(request, names);
  for await (const part of request.parts()) {
    const list = values.get(part.fieldname) ?? [];
    values.set(part.fieldname, list);
    if (part.type === "file") {
      const max = accepted[part.fieldname];
      if (max === undefined) {
        const expected = Object.keys(accepted);
        throw new HttpError(400, "unexpected_file", `'${part.fieldname}' is not a file field here${expected.length ? ` (files go in ${expected.map((f) => `'${f}'`).join(", ")})` : " (this route takes no files)"}`);
      }
      if (list.length >= max) {
        throw max === 1 ? new HttpError(400, "too_many_images", `send one file in '${part.fieldname}', got more`) : limitError(400, "maxBatch", limits, `more than ${max} files in '${part.fieldname}'`);
      }
      const data = await part.toBuffer();
      if (part.filename) names.set(data, part.filename);
      list.push(data);
    } else {
      const value = part.value;
      list.push(types[part.fieldname] === "integer" && typeof value === "string" && /^-?\d{1,15}$/.test(value) ? Number(value) : value);
    }
  }
  const body: Record<string, unknown> = {};
  for (const [field, list] of values) body[field] = list.length === 1 && types[field] !== "array" ? list[0] : list;
  return body;
}

/** Reads width and height from the header; refuses non-images and images over maxPixels. */
export async function checkImage(data: Buffer, label: string, limits: ServerLimits): Promise<{ width: number; height: number }> {
  const refused = () => new HttpError(400, "bad_image", `${label} is not an image koclip can read (png, jpeg, webp, gif, tiff, avif, heic)`);
  let width: number | undefined;
  let height: number | undefined;
  let format: string | undefined;
  try {
    ({ width, height, format } = await sharp(data, { limitInputPixels: false }).metadata());
  } catch {
    throw refused();
  }
  // sharp also reads SVG, PDF and more; an SVG can name files and URLs to load, so only raster
  // formats are taken from clients.
  if (!format || !UPLOAD_FORMATS.has(format)) throw refused();
  if (!width || !height) throw new HttpError(400, "bad_image", `${label} has no width/height in its header`);
  if (width * height > limits.maxPixels) {
    throw limitError(413, "maxPixels", limits, `${label} is ${width}x${height} = ${width * height} pixels`);
  }
  return { width, height };
}

/**
 * The images uploaded under `field` (at most the route's `config.uploads[field]`, enforced while
 * reading the form), each checked with `checkImage`. A text value where a file belongs, or fewer
 * than `min` files, is a 400.
 */
export async function uploadedImages(request: FastifyRequest, field: string, limits: ServerLimits, min: number): Promise<UploadedImage[]> {
  if (!request.isMultipart()) {
    if (min === 0) return [];
    throw new HttpError(400, "image_required", `upload the image as multipart/form-data with a file field '${field}'`);
  }
  const raw = (request.body as Record<string, unknown> | undefined)?.[field];
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (values.length < min) throw new HttpError(400, "image_required", `missing the file field '${field}'`);
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
