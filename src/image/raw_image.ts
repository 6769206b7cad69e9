/**
 * Decoding any image sharp can read into 8-bit RGB, the way HF's loading path sees it:
 * `PIL.ImageOps.exif_transpose(img).convert("RGB")`, as transformers' `load_image` does.
 */
import sharp from "sharp";

/** A decoded image: `height * width * 3` bytes, row-major, RGB interleaved (HWC). */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A file path, or the encoded bytes of an image (PNG, JPEG, WebP, GIF, TIFF, AVIF, ...). */
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
 *
 * Images with more than `maxPixels` pixels are refused from the header, before decoding.
 */
export async function decodeImage(input: ImageInput, maxPixels = DEFAULT_MAX_PIXELS): Promise<RawImage> {
  const source = describeInput(input);
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
    throw new ImageDecodeError(`cannot decode image ${source}: ${reason}`, source, "unreadable");
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
  const meta = await sharp(input).metadata().catch(() => null);
  if (meta?.width && meta.height && (meta.format === "jpeg" || meta.format === "webp") && meta.width * meta.height <= maxPixels && (meta.pages ?? 1) === 1) {
    const [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
    const [needWidth, needHeight] = atLeast(width, height);
    const shrink = Math.min(width / needWidth, height / needHeight);
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
  const image = await decodeImage(input, maxPixels);
  return { image, width: image.width, height: image.height };
}
