/**
 * Image augmentation on decoded RGB8 pixels, driven by a seeded generator so a resumed run sees
 * the same crops. Random resized crop (Inception-style, as CLIP/open_clip use), optional colour
 * jitter and greyscale (off by default: the emoji experiments decide whether they help).
 */
import type { RawImage } from "../image/index.js";
import type { SeededRandom } from "../data/seeded.js";

/** A crop covering `scale` ∈ [lo, hi] of the area with aspect ratio in [3/4, 4/3]. */
export function randomResizedCrop(img: RawImage, scale: [number, number], rng: SeededRandom): RawImage {
  if (scale[0] >= 1 && scale[1] >= 1) return img;
  const area = img.width * img.height;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const ratio = Math.exp(rng.uniform(Math.log(3 / 4), Math.log(4 / 3)));
    const w = Math.round(Math.sqrt(target * ratio));
    const h = Math.round(Math.sqrt(target / ratio));
    if (w > 0 && h > 0 && w <= img.width && h <= img.height) {
      return crop(img, rng.int(0, img.width - w), rng.int(0, img.height - h), w, h);
    }
  }
  return img;
}

function crop(img: RawImage, x0: number, y0: number, w: number, h: number): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + w) * 3), y * w * 3);
  return { width: w, height: h, data };
}

/** Brightness, contrast and saturation each scaled by a factor in [1−s, 1+s]; greyscale with probability p. */
export function colorJitter(img: RawImage, strength: number, grayscaleProb: number, rng: SeededRandom): RawImage {
  if (strength <= 0 && grayscaleProb <= 0) return img;
  const b = strength > 0 ? rng.uniform(1 - strength, 1 + strength) : 1;
  const c = strength > 0 ? rng.uniform(1 - strength, 1 + strength) : 1;
  const s = strength > 0 ? rng.uniform(1 - strength, 1 + strength) : 1;
  const grey = grayscaleProb > 0 && rng.next() < grayscaleProb;
  const src = img.data;
  let mean = 0;
  for (let i = 0; i < src.length; i += 3) mean += 0.299 * src[i]! + 0.587 * src[i + 1]! + 0.114 * src[i + 2]!;
  mean /= src.length / 3;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    let r = src[i]! * b, g = src[i + 1]! * b, bl = src[i + 2]! * b;
    r = (r - mean) * c + mean; g = (g - mean) * c + mean; bl = (bl - mean) * c + mean;
    const l = 0.299 * r + 0.587 * g + 0.114 * bl;
    const sat = grey ? 0 : s;
    out[i] = l + (r - l) * sat;
    out[i + 1] = l + (g - l) * sat;
    out[i + 2] = l + (bl - l) * sat;
  }
  return { width: img.width, height: img.height, data: out };
}
