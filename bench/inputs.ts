/**
 * Real-ish inputs for the model and index benchmarks, made at run time from packages already
 * installed (nothing downloaded, nothing committed):
 * - images: OpenMoji SVGs rendered by the emoji dataset's renderer (src/data/emoji_render.ts);
 * - texts: Korean captions, tokenised by the shipped koclip-emoji WordPiece tokenizer;
 * - photos: JPEGs of emoji over noisy backgrounds, the kind of file `koclip index` reads.
 */
import { mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import sharp from "sharp";
import { EMOJI_STYLES } from "../src/data/emoji_styles.js";
import { loadEmojiConcepts } from "../src/data/emoji_text.js";
import { renderEmojiPng } from "../src/data/emoji_render.js";
import { SeededRandom } from "../src/data/seeded.js";
import { clipDefaults, preprocessImages } from "../src/image/index.js";
import type { PixelInput } from "../src/models/pretrained.js";
import { loadTokenizer, type Tokenizer } from "../src/tokenizers/index.js";
import { REPO_ROOT } from "../tests/helpers/fixtures.js";

/** The OpenMoji colour SVGs, sorted (the test art style of the emoji dataset). */
function openmojiSvgs(): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve("openmoji/package.json")), "color", "svg");
  return readdirSync(dir).filter((f) => f.endsWith(".svg")).sort().map((f) => join(dir, f));
}

/** `count` OpenMoji emoji rendered as `size`-pixel PNGs, evenly spread over the set. */
export async function emojiPngs(count: number, size: number): Promise<Buffer[]> {
  const svgs = openmojiSvgs();
  const step = Math.floor(svgs.length / count);
  return Promise.all(Array.from({ length: count }, (_, i) =>
    renderEmojiPng({ kind: "svg-file", path: svgs[i * step]! }, size, new SeededRandom(`bench|${i}`), { artShare: EMOJI_STYLES.openmoji.artShare })));
}

/** `count` OpenMoji renders through our CLIP preprocessing (224 px, bicubic, centre crop): one [B, 3, 224, 224] batch. */
export async function imageBatch(count: number): Promise<PixelInput> {
  const p = await preprocessImages(await emojiPngs(count, 256), clipDefaults(224));
  return { data: p.data, shape: p.shape };
}

/**
 * Batches of `size` distinct items drawn at random from a pool of `pool`, seeded: runners that
 * take turns replay the same sequence, and no timed call repeats the batch before it (a repeated
 * batch lets libtorch's oneDNN int8 path reuse primitives a stream of new inputs cannot).
 */
export class BatchStream {
  readonly #rng: SeededRandom;
  constructor(readonly pool: number, readonly size: number, seed: string) {
    if (size > pool) throw new RangeError(`a batch of ${size} distinct items needs a pool of at least ${size}, got ${pool}`);
    this.#rng = new SeededRandom(seed);
  }
  /** The pool indices of the next batch. */
  next(): number[] {
    const picked = new Set<number>();
    while (picked.size < this.size) picked.add(this.#rng.int(0, this.pool - 1));
    return [...picked];
  }
}

/** [size, 3, H, W] batches drawn from a pool of preprocessed images, copied into one reused buffer. */
export function pixelStream(pool: PixelInput, size: number): () => PixelInput {
  const [count, channels, height, width] = pool.shape;
  const plane = channels * height * width;
  const stream = new BatchStream(count, size, "bench|images");
  const data = new Float32Array(size * plane);
  return () => {
    stream.next().forEach((from, i) => data.set(pool.data.subarray(from * plane, (from + 1) * plane), i * plane));
    return { data, shape: [size, channels, height, width] };
  };
}

/** Korean captions of the kind users search with, short to long. */
export const KOREAN_CAPTIONS = [
  "고양이 얼굴",
  "바닷가에서 뛰어노는 강아지",
  "빨간 사과 두 개와 초록색 배 하나",
  "밤하늘에 떠 있는 둥근 보름달과 반짝이는 별들",
  "눈 덮인 산 위로 해가 떠오르는 아침 풍경",
  "생일 케이크 위에 촛불이 세 개 켜져 있다",
  "비 오는 날 우산을 쓰고 걸어가는 사람",
  "파란 하늘 아래 노란 해바라기 밭",
  "웃고 있는 얼굴에 눈물이 맺힌 이모지",
  "자전거를 타고 공원을 달리는 아이와 그 옆을 따라 뛰는 작은 강아지",
  "커피 한 잔과 크루아상이 놓인 나무 탁자",
  "하트 모양의 분홍색 풍선",
  "불꽃놀이가 터지는 도시의 밤, 강물에 비친 불빛",
  "축구공을 차는 선수와 골대 앞에서 몸을 날리는 골키퍼",
  "책상 위의 노트북, 안경, 그리고 펼쳐진 공책",
  "주황색 단풍잎이 떨어지는 가을 숲길을 걷는 두 사람의 뒷모습",
];

/** One Korean text per emoji: its CLDR name and keywords ("고양이 얼굴 고양이 얼굴"), ~1,900 distinct queries. */
export function koreanEmojiTexts(): string[] {
  return loadEmojiConcepts().concepts.map((c) => [c.ko.label, ...c.ko.tags].join(" "));
}

/** The shipped model's tokenizer: Korean WordPiece, [CLS]=0 [PAD]=1 [SEP]=2 as RoBERTa's specials. */
export function benchTokenizer(): Promise<Tokenizer> {
  return loadTokenizer(join(REPO_ROOT, "models", "koclip-emoji"));
}

/**
 * `count` Photos for `koclip index`: `width`×`height` images (JPEG unless `format` says), each an
 * OpenMoji emoji composited at a seeded place over seeded colour noise (noise keeps the JPEGs
 * photo-sized: ~100 KB at 640×480).
 */
export async function makePhotoFolder(dir: string, count: number, width: number, height: number, format: "jpeg" | "png" | "webp" = "jpeg"): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const glyphs = await emojiPngs(Math.min(count, 64), Math.round(Math.min(width, height) * 0.6));
  const noise = (rng: SeededRandom) => {
    const raw = Buffer.alloc(width * height * 3);
    const base = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
    for (let p = 0; p < raw.length; p++) raw[p] = Math.max(0, Math.min(255, base[p % 3]! + Math.round((rng.next() - 0.5) * 90)));
    return raw;
  };
  for (let i = 0; i < count; i++) {
    const rng = new SeededRandom(`photo|${i}`);
    const glyph = glyphs[i % glyphs.length]!;
    const side = Math.round(Math.min(width, height) * 0.6);
    await sharp(noise(rng), { raw: { width, height, channels: 3 } })
      .composite([{ input: glyph, left: rng.int(0, width - side), top: rng.int(0, height - side) }])
      .toFormat(format, format === "png" ? {} : { quality: 90 })
      .toFile(join(dir, `photo${String(i).padStart(4, "0")}.${format === "jpeg" ? "jpg" : format}`));
  }
}
