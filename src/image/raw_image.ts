/**
 * Decoding any image sharp can read, and HEIC, into 8-bit RGB, the way HF's loading path sees it:
 * `PIL.ImageOps.exif_transpose(img).convert("RGB")`, as transformers' `load_image` does.
 */
import { open, readFile } from "node:fs/promises";
import sharp from "sharp";

/** A decoded image: `height * width * 3` bytes, row-major, RGB interleaved (HWC). */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A file path, or the encoded bytes of an image (PNG, JPEG, WebP, GIF, TIFF, AVIF, HEIC, ...). */
export type ImageInput = string | Buffer | Uint8Array;

/** Default for `maxPixels`: 100 megapixels, about 300 MB once decoded to RGB. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** Why an image could not be turned into pixels. `source` is the path, or "buffer". */
export class ImageDecodeError extends Error {
  override name = "ImageDecodeError";
  constructor(
    message: string,
    readonly source: string,
    readonly reason: "unreadable" | "too_large",
  ) {
    super(message);
  }
}

/** How an input is named in errors. */
export function describeInput(input: ImageInput): string {
  return typeof input === "string" ? input : "buffer";
}

/**
 * Decodes to 8-bit RGB, matching PIL's `convert("RGB")`, after applying the EXIF orientation.
 *
 * - EXIF orientation (rotations and mirrors) is applied, as transformers' `load_image` does
 *   with `exif_transpose`. `CLIPImageProcessor` alone does not rotate: a PIL image opened by
 *   hand and passed to it directly stays in stored orientation.
 * - Grey is replicated into three channels; alpha is dropped, not composited (PIL's
 *   `convert("RGB")` drops it); palettes are expanded, palette transparency dropped.
 * - Embedded ICC profiles are ignored (`ignoreIcc`), because PIL ignores them on convert:
 *   sharp would otherwise transform e.g. Display P3 pixels to sRGB and the values would differ.
 * - 16-bit samples keep their high byte. For RGB this is exactly what PIL does; for 16-bit grey
 *   PIL clips to 255 (its I;16 -> RGB conversion), which turns most images white, so we
 *   deliberately do not follow it there.
 * - CMYK JPEGs go through sharp's CMYK profile; PIL uses a naive formula, so those differ.
 * - Multi-page files (GIF, TIFF): first page, as PIL.
 * - HEIC (HEVC-coded HEIF, what phones write) goes through libheif compiled to WebAssembly
 *   (libheif-js), since sharp's bundled libvips has no HEVC decoder. A HEIF records rotation and
 *   mirroring in its irot/imir boxes (a phone's portrait shot is stored sideways with irot), and
 *   libheif applies them; an Exif Orientation tag inside a HEIF is not applied a second time,
 *   as the HEIF spec and libvips have it. The primary image of a collection.
 *
 * Images with more than `maxPixels` pixels are refused from the header, before decoding.
 */
export async function decodeImage(input: ImageInput, maxPixels = DEFAULT_MAX_PIXELS): Promise<RawImage> {
  const source = describeInput(input);
  if (isHevcHeif(await fileHead(input))) return decodeHeic(input, source, maxPixels);
  try {
    const { data, info } = await sharp(input, {
      autoOrient: true,
      ignoreIcc: true,
      limitInputPixels: maxPixels,
      // Abort on truncated or corrupt data rather than returning a half-grey image.
      failOn: "error",
    })
      .removeAlpha()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw new Error(`expected 8-bit RGB from the decoder, got ${info.channels} channels of ${data.length} bytes`);
    }
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(reason)) {
      // sharp's message has no size; the header alone gives it, still without decoding pixels.
      const dims = await sharp(input, { limitInputPixels: false })
        .metadata()
        .then((m) => ` (${m.width}x${m.height})`)
        .catch(() => "");
      throw new ImageDecodeError(
        `image too large: ${source}${dims} has more than maxPixels=${maxPixels} pixels (sharp: ${reason})`,
        source,
        "too_large",
      );
    }
    // libvips keeps one error buffer per process: when two decodes fail at once (koclip index's
    // workers, a server's concurrent requests) one message carried both texts and the other read
    // "Unknown error", so reasons changed from run to run. The header tells the reason instead.
    // (sharp's constructor throws for an empty buffer, hence the promise around it.)
    const format = await Promise.resolve()
      .then(() => sharp(input).metadata())
      .then((m) => m.format, () => undefined);
    const why = format ? `${format} data is truncated or corrupt` : "unsupported image format (not an image koclip can read)";
    throw new ImageDecodeError(`cannot decode image ${source}: ${why}`, source, "unreadable");
  }
}

// HEIF brands whose images are HEVC-coded (ISO/IEC 23008-12 annex B); AVIF ('avif', 'avis') stays with sharp.
const HEVC_BRANDS = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"]);
const FTYP_HEAD_BYTES = 64;

/** The first bytes of a file or buffer, enough for an ftyp box's brands; empty if unreadable (sharp then says why). */
async function fileHead(input: ImageInput): Promise<Uint8Array> {
  if (typeof input !== "string") return input.subarray(0, FTYP_HEAD_BYTES);
  try {
    const file = await open(input, "r");
    try {
      const head = new Uint8Array(FTYP_HEAD_BYTES);
      const { bytesRead } = await file.read(head, 0, FTYP_HEAD_BYTES, 0);
      return head.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch {
    return new Uint8Array(0);
  }
}

/** True if the bytes open with an ftyp box whose major or compatible brands name HEVC. */
function isHevcHeif(head: Uint8Array): boolean {
  const ascii = (from: number) => String.fromCharCode(...head.subarray(from, from + 4));
  if (head.length < 16 || ascii(4) !== "ftyp") return false;
  const boxEnd = Math.min(new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(0), head.length);
  // major brand at 8, minor version at 12, compatible brands from 16
  const brands = [ascii(8)];
  for (let at = 16; at + 4 <= boxEnd; at += 4) brands.push(ascii(at));
  return brands.some((b) => HEVC_BRANDS.has(b));
}

/**
 * Decodes the primary image through libheif's own JS API (heic-decode, which wraps the same
 * module, logs parse errors to stdout, where they would corrupt `--json` output). libheif applies
 * the irot/imir transforms and converts YCbCr to interleaved RGB; alpha is not asked for.
 */
async function decodeHeic(input: ImageInput, source: string, maxPixels: number): Promise<RawImage> {
  const { default: heif } = await import("libheif-js/wasm-bundle.js");
  const fail = (why: string) => new ImageDecodeError(`cannot decode image ${source}: heif: ${why}`, source, "unreadable");
  const bytes = typeof input === "string" ? await readFile(input) : input;
  const ctx = heif.heif_context_alloc();
  try {
    const read = heif.heif_context_read_from_memory(ctx, bytes);
    if (read.code !== heif.heif_error_code.heif_error_Ok) throw fail(read.message);
    const handle = heif.heif_js_context_get_primary_image_handle(ctx);
    if ("code" in handle) throw fail(handle.message);
    try {
      const width = heif.heif_image_handle_get_width(handle);
      const height = heif.heif_image_handle_get_height(handle);
      if (width * height > maxPixels) {
        throw new ImageDecodeError(`image too large: ${source} (${width}x${height}) has more than maxPixels=${maxPixels} pixels`, source, "too_large");
      }
      const img = await heif.heif_js_decode_image2(handle, heif.heif_colorspace.heif_colorspace_RGB, heif.heif_chroma.heif_chroma_interleaved_RGB);
      if ("code" in img) throw fail(img.message);
      try {
        const plane = img.channels.find((c) => c.id === heif.heif_channel.heif_channel_interleaved);
        if (!plane || plane.width !== width || plane.height !== height) throw fail(`no ${width}x${height} RGB plane in the decoded image`);
        const rgb = new Uint8Array(width * height * 3);
        for (let y = 0; y < height; y++) rgb.set(plane.data.subarray(y * plane.stride, y * plane.stride + width * 3), y * width * 3);
        return { width, height, data: rgb };
      } finally {
        heif.heif_image_release(img.image);
      }
    } finally {
      heif.heif_image_handle_release(handle);
    }
  } finally {
    heif.heif_context_free(ctx);
  }
}

/** How far past the size wanted a reduced decode stops, so the caller's own resize still antialiases (Pillow's `reducing_gap=2`). */
export const REDUCING_GAP = 2;

/**
 * libvips shrinks a JPEG while decoding (libjpeg's DCT scaling by 1/2, 1/4, 1/8) only where the
 * whole shrink is at least 3 (sharp's pipeline.cc: an exact 2 is lowered to 1 for libjpeg's
 * rounding), so images less than this many times the size wanted gain nothing and decode in full.
 */
const REDUCE_FROM = 3 * REDUCING_GAP;

/**
 * [width, height] of a JPEG as stored (before EXIF orientation), from its frame header (SOF0–SOF15
 * but DHT, JPG and DAC), or null when `bytes` is not a JPEG or the header is not found.
 */
export function jpegFrameSize(bytes: Uint8Array): [number, number] | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) { // fill byte
      at++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // no length
      at += 2;
      continue;
    }
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (length < 2) return null;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > bytes.length) return null;
      const height = (bytes[at + 5]! << 8) | bytes[at + 6]!, width = (bytes[at + 7]! << 8) | bytes[at + 8]!;
      return width > 0 && height > 0 ? [width, height] : null;
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan data or the end before any frame
    at += 2 + length;
  }
  return null;
}

/** A decode at reduced size: the pixels, and the full (EXIF-oriented) size of the image. */
export interface ReducedDecode {
  image: RawImage;
  width: number;
  height: number;
}

/**
 * Decodes a JPEG or WebP at least REDUCE_FROM times the size its caller needs at a reduced size:
 * libjpeg or libwebp decodes it scaled down (the cost that dominates large photos: a 12 MP JPEG
 * takes ~190 ms in full), and libvips resizes (Lanczos-3) to REDUCING_GAP times `atLeast`, so
 * the caller's resize from there still antialiases. `atLeast(width, height)` gives the least
 * [width, height] the caller needs for the full, oriented size. Other formats and smaller images
 * are decoded in full, as `decodeImage` does, with the same conversions and errors.
 *
 * The pixels are not Pillow's: this is for indexing, where the embedding within cosine 0.999 of
 * the exact path is the contract (bench/index_pipeline.ts measures it).
 */
export async function decodeImageReduced(input: ImageInput, atLeast: (width: number, height: number) => [number, number], maxPixels = DEFAULT_MAX_PIXELS): Promise<ReducedDecode> {
  const shrinkOf = (width: number, height: number) => {
    const [needWidth, needHeight] = atLeast(width, height);
    return Math.min(width / needWidth, height / needHeight);
  };
  const fullDecode = async (): Promise<ReducedDecode> => {
    const image = await decodeImage(input, maxPixels);
    return { image, width: image.width, height: image.height };
  };
  // A JPEG too small to reduce whichever way its EXIF turns it is decoded in full without asking
  // libvips for its header: that round trip through sharp's threads was a tenth of the time of
  // preparing a 640×480 photo.
  const frame = typeof input === "string" ? null : jpegFrameSize(input);
  if (frame && shrinkOf(frame[0], frame[1]) < REDUCE_FROM && shrinkOf(frame[1], frame[0]) < REDUCE_FROM) return fullDecode();
  const meta = await sharp(input).metadata().catch(() => null);
  if (meta?.width && meta.height && (meta.format === "jpeg" || meta.format === "webp") && meta.width * meta.height <= maxPixels && (meta.pages ?? 1) === 1) {
    const [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
    const shrink = shrinkOf(width, height);
    if (shrink >= REDUCE_FROM) {
      const scale = REDUCING_GAP / shrink;
      try {
        const { data, info } = await sharp(input, { autoOrient: true, ignoreIcc: true, limitInputPixels: maxPixels, failOn: "error" })
          .resize(Math.ceil(width * scale), Math.ceil(height * scale), { fit: "fill", fastShrinkOnLoad: true })
          .removeAlpha()
          .toColourspace("srgb")
          .raw({ depth: "uchar" })
          .toBuffer({ resolveWithObject: true });
        if (info.channels === 3) return { image: { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) }, width, height };
      } catch {
        // Fall through: the full decode names the problem the way every other path does.
      }
    }
  }
  return fullDecode();
}
