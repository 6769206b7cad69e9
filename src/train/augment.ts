/**
 * Image augmentation on decoded RGB8 pixels, driven by a seeded generator so a resumed run sees
 * the same crops. Random resized crop (Inception-style, as CLIP/open_clip use), optional colour
 * jitter, greyscale and blur, and for datasets with transparent foregrounds a fresh background
 * flat colour and outline strokes (all off by default: the emoji experiments decide what helps).
 */
import { clampByte, composeOnBackground, type RgbaImage } from "../data/compose.js";
import { pickLayout } from "../data/emoji_render.js";
import type { SeededRandom } from "../data/seeded.js";
import { uninitializedBytes, type RawImage } from "../image/index.js";

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
    // Clamped by hand: a Uint8Array stores values modulo 256, which turns bright yellow green.
    out[i] = clampByte(l + (r - l) * sat);
    out[i + 1] = clampByte(l + (g - l) * sat);
    out[i + 2] = clampByte(l + (bl - l) * sat);
  }
  return { width: img.width, height: img.height, data: out };
}

/**
 * Draws a transparent foreground (normal-size art filling its square) on a fresh random
 * background, at a random share of the side in `scale` and a random offset: the emoji
 * dataset's own layout (pickLayout), redrawn every step instead of once at build time.
 */
export function composeForeground(fg: RgbaImage, side: number, scale: [number, number], rng: SeededRandom): RawImage {
  const layout = pickLayout(side, rng, scale);
  const whole = { left: 0, top: 0, width: fg.width, height: fg.height };
  const rgb = composeOnBackground(fg, whole, { size: side, ...layout }, Math.max(fg.width, fg.height));
  return { width: side, height: side, data: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.length) };
}

// Neighbouring opaque pixels whose colours differ by more than this (in any channel) meet at an
// inner edge, which outline art draws as a line; smaller steps are shading, not edges.
const INNER_EDGE_STEP = 64;

/**
 * Outline art (OpenMoji draws every shape with a dark stroke): a dark line `width` pixels wide
 * around the art and along its strong inner colour edges, on the transparent foreground before
 * it is placed. Teaches the image tower that a stroke is style, not content.
 */
export function drawOutline(fg: RgbaImage, width: number, ink: readonly [number, number, number]): RgbaImage {
  const { width: w, height: h, data } = fg;
  const opaque = (i: number) => data[4 * i + 3]! > 127;
  // Inner edges, then both rings grown to the stroke width (a square brush).
  const edge = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!opaque(i)) continue;
      for (const j of [x + 1 < w ? i + 1 : -1, y + 1 < h ? i + w : -1]) {
        if (j < 0 || !opaque(j)) continue;
        const step = Math.max(Math.abs(data[4 * i]! - data[4 * j]!), Math.abs(data[4 * i + 1]! - data[4 * j + 1]!), Math.abs(data[4 * i + 2]! - data[4 * j + 2]!));
        if (step > INNER_EDGE_STEP) edge[i] = 1;
      }
    }
  }
  const out = uninitializedBytes(w * h * 4); // every pixel is written below
  const grow = width - 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let ring = 0; // the dilated alpha: the outer stroke's coverage
      let onEdge = false;
      for (let dy = -width; dy <= width; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -width; dx <= width; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const j = yy * w + xx;
          ring = Math.max(ring, data[4 * j + 3]!);
          if (Math.abs(dx) <= grow && Math.abs(dy) <= grow && edge[j]) onEdge = true;
        }
      }
      const i = y * w + x;
      const a = data[4 * i + 3]! / 255;
      const under = onEdge ? 1 : ring / 255;
      const cover = onEdge ? 1 : a; // an inner line replaces the art's colour
      const outA = cover + under * (1 - cover);
      if (outA <= 0) {
        out.fill(0, 4 * i, 4 * i + 4);
        continue;
      }
      for (let c = 0; c < 3; c++) {
        const art = onEdge ? ink[c]! : data[4 * i + c]!;
        out[4 * i + c] = Math.round((art * cover + ink[c]! * under * (1 - cover)) / outA);
      }
      out[4 * i + 3] = Math.round(255 * outA);
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * Flat colour (posterize): each colour channel snapped to `levels` evenly spaced values, alpha
 * kept. Turns the gradients of shaded styles (Noto, Fluent modern) into the flat fills of
 * outline styles, whose band edges drawOutline then strokes like inner lines.
 */
export function posterize(fg: RgbaImage, levels: number): RgbaImage {
  const step = 255 / (levels - 1);
  const out = Uint8Array.from(fg.data);
  for (let i = 0; i < out.length; i += 4) for (let c = 0; c < 3; c++) out[i + c] = Math.round(Math.round(out[i + c]! / step) * step);
  return { width: fg.width, height: fg.height, data: out };
}

/** A light blur: the [1 2 1]/4 kernel across rows and columns (edges clamped). */
export function blur3(img: RawImage): RawImage {
  const { width: w, height: h, data } = img;
  const pass = (src: Uint8Array, dx: number, dy: number) => {
    const out = new Uint8Array(src.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const a = 3 * (Math.max(0, Math.min(h - 1, y - dy)) * w + Math.max(0, Math.min(w - 1, x - dx)));
        const b = 3 * (y * w + x);
        const c = 3 * (Math.max(0, Math.min(h - 1, y + dy)) * w + Math.max(0, Math.min(w - 1, x + dx)));
        for (let k = 0; k < 3; k++) out[b + k] = (src[a + k]! + 2 * src[b + k]! + src[c + k]! + 2) >> 2;
      }
    }
    return out;
  };
  return { width: w, height: h, data: pass(pass(data, 1, 0), 0, 1) };
}
