/**
 * Image preprocessing settings, read from a checkpoint's `preprocessor_config.json`.
 *
 * The JSON keeps HF's field names (`size.shortest_edge`, `crop_size`, `image_mean`, `resample: 3`);
 * this module turns them into one typed, camelCase `ImageProcessorConfig` once, at the boundary.
 * Reference: transformers `CLIPImageProcessor` / `ViTImageProcessor` and `get_size_dict`.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, ConfigReader, isJsonObject, POSITIVE } from "../formats/index.js";

/** PIL resampling filters, spelled as in `PIL.Image.Resampling`. */
export type ResampleFilter = "nearest" | "box" | "bilinear" | "hamming" | "bicubic" | "lanczos";

/** HF stores `resample` as the integer value of `PILImageResampling`; index = that integer. */
const PIL_RESAMPLING_IDS: readonly ResampleFilter[] = ["nearest", "lanczos", "bilinear", "bicubic", "box", "hamming"];

/** Everything `preprocessImage` needs; mirrors the `CLIPImageProcessor` arguments. */
export interface ImageProcessorConfig {
  /** Resize so the shorter side equals this, keeping the aspect ratio (HF `size.shortest_edge`). */
  shortestEdge: number;
  /**
   * When set, resize to exactly this size instead, ignoring `shortestEdge`
   * (HF `size: {height, width}`, as ViT-style processors use).
   */
  size?: { height: number; width: number };
  cropSize: { height: number; width: number };
  doResize: boolean;
  doCenterCrop: boolean;
  doRescale: boolean;
  doNormalize: boolean;
  /**
   * Kept for fidelity with the JSON. The output always has 3 channels, because the vision tower
   * needs them: `false` only changes anything in HF for grey/RGBA input, where it breaks the model.
   */
  doConvertRgb: boolean;
  rescaleFactor: number;
  mean: [number, number, number];
  std: [number, number, number];
  resample: ResampleFilter;
}

/** The OpenAI CLIP mean/std over its training set, used by every CLIP-derived checkpoint. */
export const OPENAI_CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/**
 * `CLIPImageProcessor` defaults: shortest edge → `size`, bicubic, center crop `size`², OpenAI mean/std.
 *
 *   clipDefaults(336).cropSize  // { height: 336, width: 336 }
 */
export function clipDefaults(size = 224): ImageProcessorConfig {
  return {
    shortestEdge: size,
    cropSize: { height: size, width: size },
    doResize: true,
    doCenterCrop: true,
    doRescale: true,
    doNormalize: true,
    doConvertRgb: true,
    rescaleFactor: 1 / 255,
    mean: [...OPENAI_CLIP_MEAN],
    std: [...OPENAI_CLIP_STD],
    resample: "bicubic",
  };
}

/** `ViTImageProcessor` defaults: squash to size², bilinear, no crop, mean/std 0.5. */
function vitDefaults(size = 224): ImageProcessorConfig {
  return {
    ...clipDefaults(size),
    size: { height: size, width: size },
    doCenterCrop: false,
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    resample: "bilinear",
  };
}

/** HF accepts a scalar (broadcast to 3 channels) or a 3-list for image_mean / image_std. */
function triple(r: ConfigReader, field: string, dflt: [number, number, number]): [number, number, number] {
  const v = r.raw(field);
  if (v === undefined) return dflt;
  if (typeof v === "number") return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number")) return [v[0], v[1], v[2]] as [number, number, number];
  return r.fail(field, "a number or 3 numbers", v);
}

function parseResample(r: ConfigReader, dflt: ResampleFilter): ResampleFilter {
  const v = r.raw("resample");
  if (v === undefined) return dflt;
  if (typeof v === "number" && PIL_RESAMPLING_IDS[v] !== undefined) return PIL_RESAMPLING_IDS[v];
  if (typeof v === "string" && (PIL_RESAMPLING_IDS as readonly string[]).includes(v.toLowerCase())) return v.toLowerCase() as ResampleFilter;
  return r.fail("resample", `a PIL resampling id 0-5 or one of ${PIL_RESAMPLING_IDS.join(", ")}`, v);
}

/** `get_size_dict` for `crop_size`: an int means a square. */
function parseCropSize(r: ConfigReader, dflt: { height: number; width: number }): { height: number; width: number } {
  const v = r.raw("crop_size");
  if (v === undefined) return dflt;
  if (typeof v === "number") return { height: r.int("crop_size", undefined, 1), width: v };
  const c = isJsonObject(v) ? r.child("crop_size")! : undefined;
  if (c && c.raw("height") !== undefined && c.raw("width") !== undefined) return { height: c.int("height", undefined, 1), width: c.int("width", undefined, 1) };
  return r.fail("crop_size", "an int or {height, width}", v);
}

/**
 * Validates a parsed `preprocessor_config.json` (CLIP or ViT processor, new or legacy
 * feature-extractor spelling). Fields that are absent take the processor class's defaults; errors
 * name `where` and the field (ConfigReader's format).
 *
 *   parseImageProcessorConfig({ size: { shortest_edge: 224 }, resample: 3 }).resample  // "bicubic"
 */
export function parseImageProcessorConfig(json: unknown, where = "preprocessor_config.json"): ImageProcessorConfig {
  const r = ConfigReader.of(json, where);
  const kind = String(r.raw("image_processor_type") ?? r.raw("feature_extractor_type") ?? "CLIPImageProcessor");
  // ViT-style processors squash to a square and treat an int `size` as height = width;
  // CLIP-style ones (the default, also for unknown types) read an int as the shortest edge.
  const squash = /^(ViT|DeiT|BEiT|Siglip)/i.test(kind);
  const base = squash ? vitDefaults() : clipDefaults();

  let shortestEdge = base.shortestEdge;
  let size = base.size;
  const s = r.raw("size");
  const sr = isJsonObject(s) ? r.child("size")! : undefined;
  if (typeof s === "number") {
    if (squash) size = { height: r.int("size", undefined, 1), width: s };
    else shortestEdge = r.int("size", undefined, 1);
  } else if (sr && sr.raw("shortest_edge") !== undefined && sr.raw("longest_edge") === undefined) {
    shortestEdge = sr.int("shortest_edge", undefined, 1);
    size = undefined;
  } else if (sr && sr.raw("height") !== undefined && sr.raw("width") !== undefined) {
    size = { height: sr.int("height", undefined, 1), width: sr.int("width", undefined, 1) };
    shortestEdge = Math.min(size.height, size.width);
  } else if (s !== undefined) {
    r.fail("size", "an int, {shortest_edge} or {height, width} (longest_edge is not supported)", s);
  }

  const std = triple(r, "image_std", base.std);
  if (std.some((x) => x === 0)) r.fail("image_std", "non-zero", std);
  return {
    shortestEdge,
    ...(size ? { size } : {}),
    // Like HF, an absent crop_size is the class default (224), not the resize size.
    cropSize: parseCropSize(r, base.cropSize),
    doResize: r.boolean("do_resize", base.doResize),
    doCenterCrop: r.boolean("do_center_crop", base.doCenterCrop),
    doRescale: r.boolean("do_rescale", base.doRescale),
    doNormalize: r.boolean("do_normalize", base.doNormalize),
    doConvertRgb: r.boolean("do_convert_rgb", base.doConvertRgb),
    rescaleFactor: r.number("rescale_factor", base.rescaleFactor, POSITIVE),
    mean: triple(r, "image_mean", base.mean),
    std,
    resample: parseResample(r, base.resample),
  };
}

/**
 * Reads `<dir>/preprocessor_config.json` when present, else returns `clipDefaults(fallbackSize)`
 * (pass the vision tower's `image_size` so a 336px model without the file still gets 336).
 *
 *   const cfg = await loadImageProcessorConfig("models/clip-vit-base-patch32");
 *   cfg.shortestEdge  // 224
 */
export async function loadImageProcessorConfig(dir: string, fallbackSize = 224): Promise<ImageProcessorConfig> {
  const path = join(dir, "preprocessor_config.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return clipDefaults(fallbackSize);
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: invalid JSON (${(err as Error).message})`);
  }
  return parseImageProcessorConfig(json, path);
}

/**
 * The config as HF's `preprocessor_config.json` spells it (what `save_pretrained` writes), so
 * Python users load our saved models with the same preprocessing.
 *
 *   imageProcessorConfigJson(clipDefaults()).size   // { shortest_edge: 224 }
 */
export function imageProcessorConfigJson(cfg: ImageProcessorConfig): Record<string, unknown> {
  return {
    image_processor_type: "CLIPImageProcessor",
    do_resize: cfg.doResize,
    size: cfg.size ? { height: cfg.size.height, width: cfg.size.width } : { shortest_edge: cfg.shortestEdge },
    resample: PIL_RESAMPLING_IDS.indexOf(cfg.resample),
    do_center_crop: cfg.doCenterCrop,
    crop_size: { height: cfg.cropSize.height, width: cfg.cropSize.width },
    do_rescale: cfg.doRescale,
    rescale_factor: cfg.rescaleFactor,
    do_normalize: cfg.doNormalize,
    image_mean: cfg.mean,
    image_std: cfg.std,
    do_convert_rgb: cfg.doConvertRgb,
  };
}
