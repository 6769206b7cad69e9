/**
 * Training-time augmentation (src/train/augment.ts) and the loader's transparent-foreground path:
 * small synthetic images with known answers.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { encodePng } from "../../src/data/png.js";
import { SeededRandom } from "../../src/data/seeded.js";
import type { PairRow } from "../../src/data/datasets.js";
import { blur3, colorJitter, composeForeground, drawOutline, posterize } from "../../src/train/augment.js";
import { resolveTrainConfig } from "../../src/train/config.js";
import { PairLoader, resolveForegrounds, type LoaderOptions } from "../../src/train/data.js";

/** A transparent side×side canvas with an opaque rectangle [x0, x1) × [y0, y1) of one colour. */
function canvasWithRect(side: number, x0: number, x1: number, y0: number, y1: number, rgb: [number, number, number]) {
  const data = new Uint8Array(side * side * 4);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data.set([...rgb, 255], 4 * (y * side + x));
  return { width: side, height: side, data };
}

const px = (img: { width: number; data: Uint8Array | Uint8ClampedArray }, x: number, y: number, channels: number) =>
  [...img.data.subarray(channels * (y * img.width + x), channels * (y * img.width + x) + channels)];

describe("colour jitter", () => {
  it("clamps instead of wrapping, so bright yellow stays yellow", () => {
    const data = new Uint8Array(4 * 4 * 3);
    for (let i = 0; i < data.length; i += 3) data.set([250, 220, 10], i);
    for (let seed = 0; seed < 50; seed++) {
      const out = colorJitter({ width: 4, height: 4, data }, 0.4, 0, new SeededRandom(`jitter|${seed}`));
      const [r, g, b] = px(out, 0, 0, 3) as [number, number, number];
      assert.ok(r >= g && g >= b, `seed ${seed}: ${r},${g},${b} is no longer yellow`);
    }
  });
});

describe("outline strokes", () => {
  it("rings the art in ink, leaves the inside and the far background alone", () => {
    const square = canvasWithRect(16, 5, 11, 5, 11, [255, 0, 0]);
    const out = drawOutline(square, 2, [0, 0, 0]);
    assert.deepEqual(px(out, 8, 8, 4), [255, 0, 0, 255], "inside keeps its colour");
    assert.deepEqual(px(out, 4, 8, 4), [0, 0, 0, 255], "1 px outside is ink");
    assert.deepEqual(px(out, 3, 3, 4), [0, 0, 0, 255], "2 px outside (diagonal) is ink");
    assert.equal(px(out, 2, 8, 4)[3], 0, "3 px outside stays transparent");
    // The output buffer is not zero-filled on allocation (see image/buffers.ts): every pixel
    // beyond the stroke must still come out as exactly (0, 0, 0, 0).
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        if (x >= 3 && x < 13 && y >= 3 && y < 13) continue;
        assert.deepEqual(px(out, x, y, 4), [0, 0, 0, 0], `(${x}, ${y})`);
      }
    }
  });

  it("draws a line where two flat colours meet inside the art", () => {
    const art = canvasWithRect(16, 2, 14, 2, 14, [255, 0, 0]);
    for (let y = 2; y < 14; y++) for (let x = 8; x < 14; x++) art.data.set([0, 0, 255, 255], 4 * (y * 16 + x));
    const out = drawOutline(art, 1, [10, 10, 10]);
    assert.deepEqual(px(out, 7, 8, 4), [10, 10, 10, 255], "the red side of the seam");
    assert.deepEqual(px(out, 4, 8, 4), [255, 0, 0, 255]);
    assert.deepEqual(px(out, 11, 8, 4), [0, 0, 255, 255]);
  });
});

describe("flat colour", () => {
  it("snaps each channel to the nearest of `levels` values and keeps alpha", () => {
    const art = { width: 2, height: 1, data: Uint8Array.from([200, 100, 20, 255, 130, 60, 250, 77]) };
    const out = posterize(art, 3); // levels 0, 127.5, 255
    assert.deepEqual(Array.from(out.data), [255, 128, 0, 255, 128, 0, 255, 77]);
    assert.deepEqual(Array.from(art.data), [200, 100, 20, 255, 130, 60, 250, 77], "the cached foreground is not touched");
  });
});

describe("foreground compositing", () => {
  it("places the art on one solid background, inside the image", () => {
    const fg = canvasWithRect(32, 0, 32, 0, 32, [0, 255, 0]);
    for (let seed = 0; seed < 10; seed++) {
      const img = composeForeground(fg, 16, [0.5, 0.5], new SeededRandom(`fg|${seed}`));
      assert.equal(img.data.length, 16 * 16 * 3);
      const corners = [px(img, 0, 0, 3), px(img, 15, 0, 3), px(img, 0, 15, 3), px(img, 15, 15, 3)];
      for (const c of corners) assert.deepEqual(c, corners[0], `seed ${seed}: corners are the background`);
      const green = Array.from({ length: 256 }, (_, i) => px(img, i % 16, Math.floor(i / 16), 3)).filter(([r, g, b]) => r === 0 && g === 255 && b === 0);
      assert.equal(green.length, 64, `seed ${seed}: an 8×8 square of art`);
    }
  });

  it("blurs with the [1 2 1] kernel", () => {
    const data = new Uint8Array(5 * 5 * 3);
    data.set([255, 255, 255], 3 * 12);
    const out = blur3({ width: 5, height: 5, data });
    assert.deepEqual([px(out, 2, 2, 3)[0], px(out, 1, 2, 3)[0], px(out, 1, 1, 3)[0], px(out, 0, 0, 3)[0]], [64, 32, 16, 0]);
  });
});

describe("loader with transparent foregrounds", () => {
  const dir = mkdtempSync(join(tmpdir(), "koclip-fg-"));
  const rows: PairRow[] = [];
  before(async () => {
    for (let i = 0; i < 4; i++) {
      const baked = Buffer.alloc(16 * 16 * 3, 200);
      await sharp(encodePng(baked, 16, 16, 3)).toFile(join(dir, `img${i}.png`));
      const fg = canvasWithRect(16, 4, 12, 4, 12, [40 * i, 0, 255]);
      await sharp(encodePng(fg.data, 16, 16, 4)).toFile(join(dir, `fg${i}.png`));
      rows.push({ image: join(dir, `img${i}.png`), texts: [i % 2 ? `cat ${i}` : `고양이 ${i}`], line: i + 1, extra: { foreground: `fg${i}.png` } });
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const opts = (train: boolean): LoaderOptions => ({
    imageConfig: { shortestEdge: 16, cropSize: { height: 16, width: 16 }, doResize: true, doCenterCrop: true, doRescale: true, doNormalize: false, doConvertRgb: true, rescaleFactor: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], resample: "bicubic" },
    batchSize: 4, seed: 3, cropScale: [1, 1], colorJitter: 0, grayscale: 0, firstCaptionProb: 1, positiveKey: null,
    foregroundKey: "foreground", foregroundScale: [0.6, 0.9], outline: 0, blur: 0, posterize: 0, templates: null, templateProb: 0, train,
  });

  it("draws each foreground on a new background every epoch; validation keeps the baked image", async () => {
    const resolved = resolveForegrounds(rows, "foreground", dir);
    assert.equal(resolved[0]!.extra.foreground, join(dir, "fg0.png"));
    const train = await PairLoader.create(resolved, opts(true));
    const corner = (b: { pixels: Float32Array }, i: number) => [0, 1, 2].map((c) => b.pixels[i * 3 * 256 + c * 256]);
    const e0 = train.batch(0, 0), e1 = train.batch(1, 0);
    assert.deepEqual(train.batch(0, 0).pixels, e0.pixels, "the same batch twice");
    const backgrounds = new Set([...[0, 1, 2, 3].map((i) => corner(e0, i).join()), ...[0, 1, 2, 3].map((i) => corner(e1, i).join())]);
    assert.ok(backgrounds.size >= 6, `${backgrounds.size} distinct backgrounds in 8 draws`);
    const val = await PairLoader.create(resolved, opts(false));
    assert.deepEqual(corner(val.batch(0, 0), 0), [200 / 255, 200 / 255, 200 / 255].map(Math.fround));
  });

  it("wraps captions in the template set of their script, in training only", async () => {
    const withTemplates = { ...opts(true), foregroundKey: null, templates: { hangul: ["{} 그림"], other: ["a drawing of {}"] }, templateProb: 1 };
    const batch = (await PairLoader.create(rows, withTemplates)).batch(0, 0);
    assert.deepEqual([...batch.texts].sort(), ["a drawing of cat 1", "a drawing of cat 3", "고양이 0 그림", "고양이 2 그림"]);
    const val = (await PairLoader.create(rows, { ...withTemplates, train: false })).batch(0, 0);
    assert.deepEqual(val.texts, ["고양이 0", "cat 1", "고양이 2", "cat 3"]);
  });

  it("a data-parallel shard is exactly its rows of the whole batch: pixels, captions, groups", async () => {
    const resolved = resolveForegrounds(rows, "foreground", dir);
    const whole = (await PairLoader.create(resolved, { ...opts(true), firstCaptionProb: 0.5 })).batch(1, 0);
    const image = 3 * 16 * 16;
    for (const count of [2, 4]) {
      for (let index = 0; index < count; index++) {
        const shard = (await PairLoader.create(resolved, { ...opts(true), firstCaptionProb: 0.5, shard: { index, count } })).batch(1, 0);
        const per = 4 / count;
        assert.deepEqual(shard.shape, [per, 3, 16, 16]);
        assert.deepEqual(shard.pixels, whole.pixels.slice(index * per * image, (index + 1) * per * image), `shard ${index} of ${count}`);
        assert.deepEqual(shard.texts, whole.texts.slice(index * per, (index + 1) * per));
        assert.deepEqual(shard.groups, whole.groups.slice(index * per, (index + 1) * per));
      }
    }
  });

  it("trains on the foreground alone: a broken foreground is a bad row, the baked image is not read", async () => {
    writeFileSync(join(dir, "broken.png"), "not a png");
    const resolved = resolveForegrounds([
      { ...rows[0]!, image: join(dir, "broken.png"), line: 7 },
      { ...rows[1]!, line: 8, extra: { foreground: "broken.png" } },
      ...rows.slice(2),
    ], "foreground", dir);
    const train = await PairLoader.create(resolved, { ...opts(true), batchSize: 2 });
    assert.deepEqual(train.rows.map((r) => r.line), [7, 3, 4]);
    assert.deepEqual(train.bad.map((b) => b.line), [8]);
    assert.match(train.bad[0]!.reason, /undecodable image: .*broken\.png/);
  });

  it("names the line of a row without a foreground", () => {
    const broken = [...rows, { image: rows[0]!.image, texts: ["x"], line: 9, extra: {} }];
    assert.throws(() => resolveForegrounds(broken, "foreground", dir), /line 9: .*'foreground'/);
  });

  it("refuses a foreground smaller than the model's input", async () => {
    const small = { ...opts(true), imageConfig: { ...opts(true).imageConfig, shortestEdge: 32, cropSize: { height: 32, width: 32 } } };
    const loader = await PairLoader.create(resolveForegrounds(rows, "foreground", dir), small);
    assert.equal(loader.bad.length, 4);
    assert.match(loader.bad[0]!.reason, /smaller than the model's 32 px input/);
  });

  it("checks the options' ranges", () => {
    const base = { data: "x.jsonl", out: "o", model: "m" };
    assert.throws(() => resolveTrainConfig({ ...base, outline: 1.5 }), /'outline' is a probability/);
    assert.throws(() => resolveTrainConfig({ ...base, foregroundScale: [0.9, 0.5] }), /foregroundScale/);
  });
});
