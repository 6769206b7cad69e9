/**
 * Text → patch, as in KoCLIP's demo: cut the image into a grid of tiles, embed each tile as
 * an image of its own, and score it against the text by cosine. Which tile holds "고양이"?
 *
 *   const h = await patchHeatmap(model, "room.jpg", "고양이", { grid: 4 });
 *   h.scores[1][2]   // cosine of the tile in row 1, column 2
 */
import { DEFAULT_MAX_PIXELS, decodeImage, preprocessRawImage, type RawImage } from "../image/index.js";
import type { PretrainedModel } from "../models/pretrained.js";

export interface PatchHeatmap {
  rows: number;
  cols: number;
  /** Cosine per tile, row-major: scores[row][col]. */
  scores: number[][];
  /** Size of the decoded image (after EXIF orientation). */
  width: number;
  height: number;
}

export interface PatchOptions {
  /** Tiles per side (default 4, at most 32). */
  grid?: number;
  maxPixels?: number;
}

/**
 * Pixel bounds of tile (row, col) in a rows×cols grid: `[x0, x1)` and `[y0, y1)`, with edges at
 * floor(i · size / n), so tiles cover the image exactly and differ by at most one pixel.
 *
 *   tileBounds(640, 480, 4, 4, 0, 1)   // { x: 160, y: 0, width: 160, height: 120 }
 */
export function tileBounds(width: number, height: number, rows: number, cols: number, row: number, col: number): { x: number; y: number; width: number; height: number } {
  const x0 = Math.floor((col * width) / cols);
  const x1 = Math.floor(((col + 1) * width) / cols);
  const y0 = Math.floor((row * height) / rows);
  const y1 = Math.floor(((row + 1) * height) / rows);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Copies a rectangle out of an RGB8 image. */
function crop(img: RawImage, b: { x: number; y: number; width: number; height: number }): RawImage {
  const data = new Uint8Array(b.width * b.height * 3);
  for (let y = 0; y < b.height; y++) {
    const src = ((b.y + y) * img.width + b.x) * 3;
    data.set(img.data.subarray(src, src + b.width * 3), y * b.width * 3);
  }
  return { width: b.width, height: b.height, data };
}

/** Scores every tile of `image` against `text` (the text as given, no prompt template). */
export async function patchHeatmap(model: PretrainedModel, image: string | Buffer, text: string, opts: PatchOptions = {}): Promise<PatchHeatmap> {
  const grid = opts.grid ?? 4;
  if (!Number.isInteger(grid) || grid < 1 || grid > 32) throw new RangeError(`grid must be an integer from 1 to 32, got ${grid}`);
  const img = await decodeImage(image, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
  if (img.width < grid || img.height < grid) throw new RangeError(`a ${img.width}x${img.height} image cannot be cut into ${grid}x${grid} tiles`);
  const s = model.encoder.imageSize;
  const plane = 3 * s * s;
  const pixels = new Float32Array(grid * grid * plane);
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      const { data } = preprocessRawImage(crop(img, tileBounds(img.width, img.height, grid, grid, r, c)), model.imageConfig);
      if (data.length !== plane) throw new Error(`preprocessing gave ${data.length} values per tile, the model takes 3x${s}x${s}`);
      pixels.set(data, (r * grid + c) * plane);
    }
  }
  // One PixelInput is one forward pass: hand the model at most 32 tiles at a time.
  const chunks = [];
  for (let i = 0; i < grid * grid; i += 32) {
    const n = Math.min(32, grid * grid - i);
    chunks.push({ data: pixels.slice(i * plane, (i + n) * plane), shape: [n, 3, s, s] as [number, number, number, number] });
  }
  const tiles = await model.encodeImages(chunks);
  const [t] = await model.encodeTexts([text]);
  const scores = Array.from({ length: grid }, (_, r) =>
    Array.from({ length: grid }, (_, c) => {
      const v = tiles[r * grid + c]!;
      let dot = 0;
      for (let k = 0; k < v.length; k++) dot += v[k]! * t![k]!;
      return dot;
    }),
  );
  return { rows: grid, cols: grid, scores, width: img.width, height: img.height };
}
