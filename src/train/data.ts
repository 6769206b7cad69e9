/**
 * Batches of (augmented pixels, one caption per image) for contrastive training. Images are
 * decoded once, in parallel (sharp's thread pool), and cached as RGB8 resized so the shorter side
 * is the model's image size; each step then only crops, jitters and normalises. Everything random
 * is a function of (seed, epoch, position), so a resumed run builds exactly the same batches.
 */
import { decodeImage, preprocessRawImage, resizeOutputSize, resizeRgb8, uninitializedFloat32, type ImageProcessorConfig, type RawImage } from "../image/index.js";
import type { BadRow, PairRow } from "../data/datasets.js";
import { SeededRandom } from "../data/seeded.js";
import { isAbsolute, resolve } from "node:path";
import sharp from "sharp";
import type { RgbaImage } from "../data/compose.js";
import { blur3, colorJitter, composeForeground, drawOutline, posterize, randomResizedCrop } from "./augment.js";

export interface LoaderOptions {
  imageConfig: ImageProcessorConfig;
  batchSize: number;
  seed: number;
  cropScale: [number, number];
  colorJitter: number;
  grayscale: number;
  firstCaptionProb: number;
  /**
   * Row field holding an absolute path to a transparent PNG of the subject (see
   * resolveForegrounds). Training then draws it on a fresh background each step, at a share of
   * the side in `foregroundScale`, instead of using the row's image; validation keeps the image.
   */
  foregroundKey: string | null;
  /** Templates (each with {}) wrapped around a caption with probability templateProb: `hangul` for captions with Hangul, `other` for the rest. */
  templates: { hangul: readonly string[]; other: readonly string[] } | null;
  templateProb: number;
  foregroundScale: [number, number];
  /** Probabilities of an outline stroke around the foreground (foregrounds only) and of a light blur. */
  outline: number;
  blur: number;
  /** Probability of flattening the foreground's colours (posterize) before the outline (foregrounds only). */
  posterize: number;
  /** Dataset field whose equal values make rows positives of each other (else the image path). */
  positiveKey: string | null;
  /** Random order and augmentation (training) or fixed order, first caption, no augmentation (validation). */
  train: boolean;
  /**
   * Data-parallel training: build only rows [index·B/count, (index+1)·B/count) of each batch of
   * batchSize B. A row's augmentation depends on its position in the whole batch, never on the shard.
   */
  shard?: { index: number; count: number };
}

export interface Batch {
  pixels: Float32Array; // [B, 3, H, W]
  shape: [number, number, number, number];
  texts: string[];
  groups: string[];
}

/** Fisher–Yates shuffle of 0..n-1 driven by a seeded generator. */
export function permutation(n: number, rng: SeededRandom): Uint32Array {
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

export class PairLoader {
  readonly rows: PairRow[] = [];
  readonly bad: BadRow[] = [];
  readonly #images: RawImage[] = [];
  readonly #foregrounds: RgbaImage[] = [];
  readonly #orders = new Map<number, Uint32Array>();

  private constructor(readonly opts: LoaderOptions) {}

  /** Decodes every row's image, or its foreground when training with one (undecodable ones become bad rows); onProgress(done, total). */
  static async create(rows: PairRow[], opts: LoaderOptions, concurrency = 8, onProgress?: (done: number, total: number) => void): Promise<PairLoader> {
    const loader = new PairLoader(opts);
    const decoded: RawImage[] = new Array(rows.length);
    const foregrounds: RgbaImage[] = new Array(rows.length);
    const errors: (Error | undefined)[] = new Array(rows.length);
    const foregroundKey = opts.train ? opts.foregroundKey : null;
    let next = 0, done = 0;
    const side = opts.imageConfig.cropSize.height;
    const worker = async () => {
      while (next < rows.length) {
        const i = next++;
        try {
          // A row with a foreground trains on it alone: its baked image is never decoded.
          if (foregroundKey !== null) foregrounds[i] = await decodeForeground(String(rows[i]!.extra[foregroundKey]), side);
          else decoded[i] = await decodeForCrops(rows[i]!.image, opts.imageConfig);
        } catch (err) {
          errors[i] = err as Error;
        }
        onProgress?.(++done, rows.length);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    rows.forEach((row, i) => {
      const err = errors[i];
      if (err) loader.bad.push({ line: row.line, reason: `undecodable image: ${err.message}` });
      else {
        loader.rows.push(row);
        if (foregroundKey !== null) loader.#foregrounds.push(foregrounds[i]!);
        else loader.#images.push(decoded[i]!);
      }
    });
    return loader;
  }

  /** Full batches per epoch (a last partial batch is dropped, as open_clip does). */
  get batchesPerEpoch(): number {
    return Math.floor(this.rows.length / this.opts.batchSize);
  }

  #order(epoch: number): Uint32Array {
    let o = this.#orders.get(epoch);
    if (!o) {
      o = this.opts.train ? permutation(this.rows.length, new SeededRandom(`${this.opts.seed}|order|${epoch}`)) : Uint32Array.from({ length: this.rows.length }, (_, i) => i);
      this.#orders.clear(); // only the current epoch is ever needed again
      this.#orders.set(epoch, o);
    }
    return o;
  }

  /** Batch `index` of `epoch` (this loader's shard of it): the same pixels and captions every time it is asked for. */
  batch(epoch: number, index: number): Batch {
    const { batchSize, imageConfig, shard } = this.opts;
    const rowsPerShard = shard ? batchSize / shard.count : batchSize;
    const first = shard ? shard.index * rowsPerShard : 0;
    const order = this.#order(epoch);
    const side = imageConfig.cropSize.height;
    const pixels = uninitializedFloat32(rowsPerShard * 3 * side * side); // every image is written below
    const texts: string[] = [];
    const groups: string[] = [];
    for (let b = first; b < first + rowsPerShard; b++) {
      const r = order[index * batchSize + b]!;
      const row = this.rows[r]!;
      const rng = new SeededRandom(`${this.opts.seed}|sample|${epoch}|${index}|${b}`);
      let fg = this.#foregrounds[r];
      let img: RawImage;
      if (fg) {
        // Drawn only when posterize is on, so earlier recipes keep their random stream.
        if (this.opts.posterize > 0 && rng.next() < this.opts.posterize) fg = posterize(fg, rng.int(3, 6));
        const stroked = rng.next() < this.opts.outline ? drawOutline(fg, rng.int(1, 2), darkInk(rng)) : fg;
        img = composeForeground(stroked, side, this.opts.foregroundScale, rng);
      } else img = this.#images[r]!;
      if (this.opts.train) {
        img = randomResizedCrop(img, this.opts.cropScale, rng);
        img = colorJitter(img, this.opts.colorJitter, this.opts.grayscale, rng);
        // Draw only when blur is on, so runs without it keep the random stream (and batches) they had before blur existed.
        if (this.opts.blur > 0 && rng.next() < this.opts.blur) img = blur3(img);
      }
      pixels.set(preprocessRawImage(img, imageConfig).data, (b - first) * 3 * side * side);
      const firstCaption = !this.opts.train || row.texts.length === 1 || rng.next() < this.opts.firstCaptionProb;
      let text = firstCaption ? row.texts[0]! : row.texts[1 + Math.floor(rng.next() * (row.texts.length - 1))]!;
      const { templates, templateProb } = this.opts;
      if (this.opts.train && templates && templateProb > 0 && rng.next() < templateProb) {
        const set = HANGUL.test(text) ? templates.hangul : templates.other;
        text = set[Math.floor(rng.next() * set.length)]!.replace("{}", text);
      }
      texts.push(text);
      const key = this.opts.positiveKey ? row.extra[this.opts.positiveKey] : undefined;
      groups.push(key === undefined ? row.image : String(key));
    }
    return { pixels, shape: [rowsPerShard, 3, side, side], texts, groups };
  }
}

const HANGUL = /[\u3131-\u318e\uac00-\ud7a3]/;

/** An image decoded and resized so its shorter side is the model's size: enough for crops, small enough to cache. */
async function decodeForCrops(path: string, imageConfig: ImageProcessorConfig): Promise<RawImage> {
  const img = await decodeImage(path);
  const side = imageConfig.cropSize.height;
  const [h, w] = resizeOutputSize(img.height, img.width, { ...imageConfig, shortestEdge: side, size: undefined });
  return h === img.height && w === img.width ? img : resizeRgb8(img, w, h, imageConfig.resample);
}

/** A near-black stroke colour, as outline styles use. */
function darkInk(rng: SeededRandom): [number, number, number] {
  const v = rng.int(0, 48);
  return [v, v, v];
}

/** A transparent foreground as RGBA8; it must be at least the model's input size (it only shrinks). */
async function decodeForeground(path: string, side: number): Promise<RgbaImage> {
  const { data, info } = await sharp(path, { failOn: "error" }).ensureAlpha().raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true })
    .catch((err: Error) => { throw new Error(`foreground ${path}: ${err.message}`); });
  if (Math.min(info.width, info.height) < side) {
    throw new Error(`foreground ${path} is ${info.width}x${info.height}, smaller than the model's ${side} px input`);
  }
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/**
 * Makes each row's `key` field (a foreground image path, relative to the dataset file like
 * `image`) absolute; a row without one is an error naming its line, since the training config
 * asked for foregrounds.
 */
export function resolveForegrounds(rows: PairRow[], key: string, baseDir: string): PairRow[] {
  return rows.map((row) => {
    const value = row.extra[key];
    if (typeof value !== "string" || value.trim() === "") {
      throw new Error(`line ${row.line}: foregroundKey '${key}' is set but the row has no '${key}' image path`);
    }
    return { ...row, extra: { ...row.extra, [key]: isAbsolute(value) ? value : resolve(baseDir, value) } };
  });
}
