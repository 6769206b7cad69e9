/**
 * CLIP image preprocessing: decode -> RGB -> resize -> center crop -> rescale -> normalise,
 * giving CHW float32 pixel values equal to HF `CLIPImageProcessor`'s PIL ("slow") path.
 *
 * Reference: transformers `image_processing_clip.py` (`resize`, `preprocess`) and
 * `image_transforms.py` (`get_resize_output_image_size`, `center_crop`, `rescale`, `normalize`).
 */
import { availableParallelism } from "node:os";
import { uninitializedFloat32 } from "./buffers.js";
import type { ImageProcessorConfig } from "./config.js";
import { DEFAULT_MAX_PIXELS, decodeImage, type ImageInput, type RawImage } from "./raw_image.js";
import { resizeRgb8, type Window } from "./resample.js";

/** Options shared by `preprocessImage` and `preprocessImages`. */
export interface PreprocessOptions {
  /** Refuse images with more pixels than this, from the header, before decoding. Default 100 M. */
  maxPixels?: number;
}

/** Options for `preprocessImages`. */
export interface PreprocessBatchOptions extends PreprocessOptions {
  /** Images decoded at once; bounds memory (each decoded image is held until resized). */
  concurrency?: number;
}

/**
 * Output size (height, width) of the resize step, as `get_resize_output_image_size` computes it:
 * the short side becomes `shortestEdge` and the long side is `int(shortestEdge * long / short)`,
 * truncated, not rounded (640x480 -> 298x224, not 299).
 *
 *   resizeOutputSize(480, 640, clipDefaults())  // [224, 298]
 */
export function resizeOutputSize(height: number, width: number, cfg: ImageProcessorConfig): [number, number] {
  if (!cfg.doResize) return [height, width];
  if (cfg.size) return [cfg.size.height, cfg.size.width];
  const s = cfg.shortestEdge;
  // Python: `int(requested_new_short * long / short)` — float multiply-then-divide, truncated.
  if (width <= height) return [Math.trunc((s * height) / width), s];
  return [s, Math.trunc((s * width) / height)];
}

/**
 * Where the center crop starts in the resized image, per HF `center_crop`:
 * `(size - crop) // 2`, floor division. A negative offset means the image is smaller than the
 * crop there; HF then zero-pads it with the padding split as ceil before / floor after, which
 * is the same floor((size - crop) / 2) offset, so one formula covers both cases.
 */
function cropOffset(size: number, crop: number): number {
  return Math.floor((size - crop) / 2);
}

/**
 * Maps a byte (or the zero padding) to its final value: `(v * rescaleFactor - mean) / std`.
 * HF rescales in float64 then casts to float32, and normalises in float32; `fround` keeps each
 * step's rounding, so the table holds the same float32 numbers numpy produces.
 */
function normalisationTables(cfg: ImageProcessorConfig): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const lut = new Float32Array(256);
    const mean = Math.fround(cfg.mean[c]);
    const std = Math.fround(cfg.std[c]);
    for (let v = 0; v < 256; v++) {
      let x = cfg.doRescale ? Math.fround(v * cfg.rescaleFactor) : v;
      if (cfg.doNormalize) x = Math.fround(Math.fround(x - mean) / std);
      lut[v] = x;
    }
    return lut;
  });
}

/** Height and width of what `preprocessImage` returns for an image of the given size. */
export function outputSize(height: number, width: number, cfg: ImageProcessorConfig): [number, number] {
  if (cfg.doCenterCrop) return [cfg.cropSize.height, cfg.cropSize.width];
  return resizeOutputSize(height, width, cfg);
}

/**
 * Resize, crop and normalise already-decoded RGB pixels into `out` (CHW) at `offset`.
 * Only the part of the resized image inside the crop is computed.
 */
function processInto(img: RawImage, cfg: ImageProcessorConfig, out: Float32Array, offset: number): void {
  const [rh, rw] = resizeOutputSize(img.height, img.width, cfg);
  const [oh, ow] = outputSize(img.height, img.width, cfg);
  const top = cfg.doCenterCrop ? cropOffset(rh, oh) : 0;
  const left = cfg.doCenterCrop ? cropOffset(rw, ow) : 0;
  // Part of the crop that lies inside the resized image; the rest is zero padding.
  const y0 = Math.max(0, top);
  const x0 = Math.max(0, left);
  const win: Window = {
    x: x0,
    y: y0,
    width: Math.max(0, Math.min(rw, left + ow) - x0),
    height: Math.max(0, Math.min(rh, top + oh) - y0),
  };
  const pixels = resizeRgb8(img, rw, rh, cfg.resample, win);

  const luts = normalisationTables(cfg);
  const plane = oh * ow;
  const data = pixels.data;
  for (let c = 0; c < 3; c++) {
    const lut = luts[c];
    const base = offset + c * plane;
    out.fill(lut[0], base, base + plane); // HF pads with 0 before rescaling
    for (let y = 0; y < win.height; y++) {
      const dst = base + (y0 - top + y) * ow + (x0 - left);
      let p = y * win.width * 3 + c;
      for (let x = 0; x < win.width; x++, p += 3) out[dst + x] = lut[data[p]];
    }
  }
}

/**
 * Preprocesses already-decoded RGB pixels (e.g. from a canvas): returns `[3, H, W]` CHW
 * float32 plus its size.
 *
 *   const { data, height, width } = preprocessRawImage({ width: 2, height: 2, data }, clipDefaults());
 *   [height, width]  // [224, 224]
 */
export function preprocessRawImage(
  img: RawImage,
  cfg: ImageProcessorConfig,
): { data: Float32Array; height: number; width: number } {
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`RawImage ${img.width}x${img.height} needs ${img.width * img.height * 3} bytes, got ${img.data.length}`);
  }
  const [height, width] = outputSize(img.height, img.width, cfg);
  const data = uninitializedFloat32(3 * height * width);
  processInto(img, cfg, data, 0);
  return { data, height, width };
}

/**
 * Decodes one image (path or encoded bytes) and returns CLIP pixel values, `[3, H, W]` CHW,
 * where H x W is the crop size (or the resized size when center crop is off).
 * Throws `ImageDecodeError` naming the file (or "buffer") when it cannot be decoded or has
 * more than `maxPixels` pixels.
 *
 *   const px = await preprocessImage("cat.jpg", clipDefaults());
 *   px.length  // 150528 = 3 * 224 * 224
 */
export async function preprocessImage(
  input: ImageInput,
  cfg: ImageProcessorConfig,
  opts: PreprocessOptions = {},
): Promise<Float32Array> {
  const img = await decodeImage(input, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
  return preprocessRawImage(img, cfg).data;
}

/**
 * Preprocesses a batch into one `[B, 3, H, W]` buffer. Decoding runs in sharp's thread pool,
 * `concurrency` images at a time, while resizing happens on this thread as each image arrives.
 * All images must come out the same size: always true with center crop, otherwise only when
 * `cfg.size` fixes the resize.
 *
 *   const { shape } = await preprocessImages(["a.jpg", "b.png"], clipDefaults());
 *   shape  // [2, 3, 224, 224]
 */
export async function preprocessImages(
  inputs: ImageInput[],
  cfg: ImageProcessorConfig,
  opts: PreprocessBatchOptions = {},
): Promise<{ data: Float32Array; shape: [number, number, number, number] }> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const concurrency = Math.max(1, Math.min(inputs.length, opts.concurrency ?? Math.min(8, availableParallelism())));
  const fixed = cfg.doCenterCrop ? [cfg.cropSize.height, cfg.cropSize.width] : cfg.doResize && cfg.size ? [cfg.size.height, cfg.size.width] : null;
  let height = fixed?.[0] ?? 0;
  let width = fixed?.[1] ?? 0;
  // Without a fixed size the shape is known only once an image is done; keep results apart until then.
  const results: Float32Array[] = new Array(inputs.length);
  const data = fixed ? uninitializedFloat32(inputs.length * 3 * height * width) : null;

  let next = 0;
  let failed = false; // stop handing out work once one image has failed
  const worker = async (): Promise<void> => {
    while (next < inputs.length && !failed) {
      const i = next++;
      const img = await decodeImage(inputs[i], maxPixels).catch((err: unknown) => {
        failed = true;
        throw err;
      });
      if (data) {
        processInto(img, cfg, data, i * 3 * height * width);
        continue;
      }
      const r = preprocessRawImage(img, cfg);
      if (height === 0) [height, width] = [r.height, r.width];
      if (r.height !== height || r.width !== width) {
        failed = true;
        throw new Error(
          `cannot batch images of different sizes: image ${i} is ${r.height}x${r.width}, earlier ones ${height}x${width} ` +
            `(enable center crop or set a fixed size)`,
        );
      }
      results[i] = r.data;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));

  if (data) return { data, shape: [inputs.length, 3, height, width] };
  const joined = uninitializedFloat32(inputs.length * 3 * height * width);
  results.forEach((r, i) => joined.set(r, i * r.length));
  return { data: joined, shape: [inputs.length, 3, height, width] };
}
