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
