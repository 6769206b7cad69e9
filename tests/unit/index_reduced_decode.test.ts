// Indexing's reduced decode (prepare.ts "reduced", decodeImageReduced) against the exact path
// on generated images of odd sizes and formats: the shipped koclip-emoji model must embed them
// within cosine 0.995 each, 0.999 on average; sizes and thumbnails match; what is not reduced is
// bit-identical. With thumbnails (256 px) wanted, images from 6 x 256 px on their long side are
// reduced.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp, { type Sharp } from "sharp";
import { decodeImage, decodeImageReduced, ImageDecodeError, jpegFrameSize, REDUCING_GAP } from "../../src/image/index.js";
import { prepareBatch, type Decoded, type Preprocessing } from "../../src/collection/prepare.js";
import { encodeDecoded } from "../../src/collection/prepare_pool.js";
import { cosine } from "../../src/models/pretrained.js";
import { loadModel, type PretrainedModel } from "../../src/index.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

let model: PretrainedModel;
let work: string;

before(async () => {
  model = await loadModel(join(REPO_ROOT, "models", "koclip-emoji"));
  work = mkdtempSync(join(tmpdir(), "koclip-reduced-"));
});
after(() => {
  model.dispose();
  rmSync(work, { recursive: true, force: true });
});

/** A photo-like picture: gradient sky, coloured shapes at places seeded by `seed`, fine stripes. */
function scene(width: number, height: number, seed: number): Buffer {
  const r = (k: number) => ((seed * 7919 + k * 104729) % 1000) / 1000;
  const shapes = Array.from({ length: 6 }, (_, k) =>
    `<circle cx="${r(k) * width}" cy="${r(k + 10) * height}" r="${(0.05 + r(k + 20) * 0.2) * Math.min(width, height)}" fill="hsl(${Math.round(r(k + 30) * 360)},70%,50%)"/>`).join("");
  const stripes = `<pattern id="p" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="3" height="6" fill="#fff" fill-opacity="0.25"/></pattern>`;
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs>${stripes}<linearGradient id="g" x2="0" y2="1"><stop offset="0" stop-color="#3a7bd5"/><stop offset="1" stop-color="#e8d5b0"/></linearGradient></defs>` +
    `<rect width="100%" height="100%" fill="url(#g)"/>${shapes}<rect x="${width * 0.1}" y="${height * 0.6}" width="${width * 0.3}" height="${height * 0.3}" fill="url(#p)"/></svg>`);
}

/** Each case: a file name, its encoder, its stored size and whether the reduced path should shrink it. */
const CASES: { name: string; width: number; height: number; encode: (s: Sharp) => Sharp; reduced: boolean }[] = [
  { name: "landscape.jpg", width: 1703, height: 1301, encode: (s) => s.jpeg({ quality: 90 }), reduced: true },
  { name: "portrait.jpg", width: 1211, height: 1703, encode: (s) => s.jpeg({ quality: 85 }), reduced: true },
  { name: "rotated.jpg", width: 1701, height: 1299, encode: (s) => s.jpeg({ quality: 90 }).withMetadata({ orientation: 6 }), reduced: true },
  { name: "big.webp", width: 1801, height: 1351, encode: (s) => s.webp({ quality: 90 }), reduced: true },
  { name: "big.png", width: 1603, height: 1201, encode: (s) => s.png(), reduced: false },
  { name: "mid.jpg", width: 1201, height: 901, encode: (s) => s.jpeg({ quality: 90 }), reduced: false },
];

async function writeCases(): Promise<{ rel: string; abs: string; size: number; mtimeMs: number }[]> {
  return Promise.all(CASES.map(async (c, i) => {
    const abs = join(work, c.name);
    writeFileSync(abs, await c.encode(sharp(scene(c.width, c.height, i + 1))).toBuffer());
    const st = statSync(abs);
    return { rel: c.name, abs, size: st.size, mtimeMs: st.mtimeMs };
  }));
}

async function prepared(files: Awaited<ReturnType<typeof writeCases>>, preprocessing: Preprocessing): Promise<Decoded[]> {
  const out = await prepareBatch({ files, knownHashes: new Map(), imageConfig: model.imageConfig, thumbnails: true, maxPixels: 100_000_000, preprocessing });
  return out.map((p) => {
    assert.equal(p.kind, "decoded", `${"rel" in p ? p.rel : p.file.rel}: ${"reason" in p ? p.reason : ""}`);
    return p as Decoded;
  });
}

test("reduced decode: embeddings within cosine 0.995 (each) and 0.999 (mean) of exact; sizes and thumbnails match; mid-size JPEG and PNG bit-identical", async () => {
  const files = await writeCases();
  const [exact, reduced] = [await prepared(files, "exact"), await prepared(files, "reduced")];
  const [exactEmbeds, reducedEmbeds] = [await encodeDecoded(exact, model, 8), await encodeDecoded(reduced, model, 8)];
  const cosines = CASES.map((c, i) => {
    const [e, r] = [exact[i]!, reduced[i]!];
    assert.deepEqual([r.width, r.height], [e.width, e.height], `${c.name}: full size`);
    const [et, rt] = [sharp(e.thumbnail!).metadata(), sharp(r.thumbnail!).metadata()];
    return Promise.all([et, rt]).then(([a, b]) => {
      assert.deepEqual([b.width, b.height], [a.width, a.height], `${c.name}: thumbnail size`);
      if (!c.reduced) assert.deepEqual(r.pixels, e.pixels, `${c.name}: not reduced, so the exact pixels`);
      else assert.notDeepEqual(r.pixels, e.pixels, `${c.name}: reduced`);
      return cosine(reducedEmbeds[i]!, exactEmbeds[i]!);
    });
  });
  const values = await Promise.all(cosines);
  values.forEach((v, i) => assert.ok(v >= 0.995, `${CASES[i]!.name}: cosine ${v}`));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(mean >= 0.999, `mean cosine ${mean}`);
});

test("decodeImageReduced: shrinks a large JPEG to at least REDUCING_GAP x what is needed, keeps the full size; exact for small ones", async () => {
  const big = await sharp(scene(1600, 1200, 9)).jpeg().toBuffer();
  const need = (): [number, number] => [200, 150];
  const r = await decodeImageReduced(big, need);
  assert.deepEqual([r.width, r.height], [1600, 1200]);
  assert.ok(r.image.width >= 200 * REDUCING_GAP && r.image.height >= 150 * REDUCING_GAP && r.image.width < 1600, `${r.image.width}x${r.image.height}`);
  assert.equal(r.image.data.length, r.image.width * r.image.height * 3);
  // Less than 6x what is needed: the full decode, byte for byte.
  const full = await decodeImageReduced(big, () => [400, 300]);
  assert.deepEqual(full.image, await decodeImage(big));
});

test("decodeImageReduced: a truncated large JPEG and an oversized one fail as the full decode does", async () => {
  const big = await sharp(scene(1600, 1200, 3)).jpeg().toBuffer();
  await assert.rejects(decodeImageReduced(big.subarray(0, big.length >> 1), () => [64, 64]), (e: unknown) => e instanceof ImageDecodeError && e.reason === "unreadable");
  await assert.rejects(decodeImageReduced(big, () => [64, 64], 1000), (e: unknown) => e instanceof ImageDecodeError && e.reason === "too_large");
});

test("jpegFrameSize reads a JPEG's stored size from its frame header, past EXIF and ICC blocks; null for anything else", async () => {
  const pixels = scene(321, 123, 5);
  assert.deepEqual(jpegFrameSize(await sharp(pixels).jpeg().toBuffer()), [321, 123]);
  assert.deepEqual(jpegFrameSize(await sharp(pixels).jpeg({ progressive: true }).toBuffer()), [321, 123]);
  const tagged = await sharp(pixels).jpeg().withMetadata({ orientation: 6 }).withIccProfile("p3").toBuffer();
  assert.deepEqual(jpegFrameSize(tagged), [321, 123], "stored size: orientation is not applied");
  assert.equal(jpegFrameSize(await sharp(pixels).png().toBuffer()), null);
  assert.equal(jpegFrameSize(tagged.subarray(0, 40)), null, "header cut before the frame");
  assert.equal(jpegFrameSize(new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0, 2])), null, "scan before any frame");
  assert.equal(jpegFrameSize(new Uint8Array(0)), null);
});

test("decodeImageReduced: a JPEG that only its EXIF orientation makes large enough to reduce is still reduced", async () => {
  // Stored 1600x1200, shown 1200x1600: reducible only as shown (the caller needs 150x200 of a
  // portrait image, 400x300 of a landscape one).
  const rotated = await sharp(scene(1600, 1200, 7)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const need = (width: number, height: number): [number, number] => (width < height ? [150, 200] : [400, 300]);
  const r = await decodeImageReduced(rotated, need);
  assert.deepEqual([r.width, r.height], [1200, 1600]);
  assert.ok(r.image.width < 1200 && r.image.width >= 150 * REDUCING_GAP, `${r.image.width}x${r.image.height}`);
});
