/**
 * Image preprocessing against HF's goldens (image-processor/golden.safetensors), Pillow-exact
 * resampling on synthetic images, decoding edge cases (EXIF, palette, 16-bit, alpha), crop and
 * normalisation rules, config parsing, and errors.
 *
 * About the golden: its "slow." and "fast." tensors are bit-identical, and their 8-bit values
 * match PyTorch's uint8 antialiased bicubic (int16 weights), not Pillow: Pillow differs from them
 * by one 8-bit level in ~0.5% of pixels. We follow Pillow bit-exactly (the hashes below were made
 * with Pillow 9.4), so against the golden we see max = one level, 1 / (255 * std) ≈ 0.015.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { ConfigError } from "../../src/formats/config_reader.js";
import { rawToFloat32 } from "../../src/formats/raw_tensor.js";
import { readSafetensors } from "../../src/formats/safetensors.js";
import {
  clipDefaults,
  decodeImage,
  ImageDecodeError,
  loadImageProcessorConfig,
  parseImageProcessorConfig,
  preprocessImage,
  preprocessImages,
  preprocessRawImage,
  resizeOutputSize,
  resizeRgb8,
  type ImageProcessorConfig,
  type RawImage,
  type ResampleFilter,
} from "../../src/image/index.js";
import { fixture } from "../helpers/fixtures.js";

const GOLDEN_FILES = [
  "photo_640x480.png",
  "tall_300x500.png",
  "square_224.png",
  "small_100x60.png",
  "gray_256.png",
  "rgba_320x240.png",
  "photo_800x600.jpg",
];
const image = (name: string): string => fixture("image-processor", "images", name);

function absDiff(a: Float32Array, b: Float32Array): { mean: number; max: number } {
  assert.equal(a.length, b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

/** A deterministic RGB pattern with edges at many frequencies, so resampling errors show. */
function synth(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = (x * 7 + y * 13 + c * 50 + ((x * y) % 31) * 5) & 255;
    }
  }
  return { width, height, data };
}

describe("HF golden (image-processor)", () => {
  const goldenPath = fixture("image-processor", "golden.safetensors");
  const golden = readSafetensors(goldenPath);
  const cfg = clipDefaults(224);
  const oneLevel = 1 / (255 * Math.min(...cfg.std)) + 1e-5;

  test("golden.json settings are CLIP's defaults", () => {
    const meta = JSON.parse(readFileSync(fixture("image-processor", "golden.json"), "utf8"));
    assert.equal(meta.processor.size.shortest_edge, cfg.shortestEdge);
    assert.equal(meta.processor.crop_size, cfg.cropSize.height);
    assert.equal(meta.processor.resample, cfg.resample);
    assert.deepEqual(meta.processor.mean, cfg.mean);
    assert.deepEqual(meta.processor.std, cfg.std);
  });

  for (const name of GOLDEN_FILES) {
    test(`${name} matches slow within tolerance`, async (t) => {
      const ref = golden.get(`slow.${name}`);
      assert.ok(ref, `slow.${name} missing from ${goldenPath}`);
      assert.deepEqual(ref.shape, [3, 224, 224]);
      const ours = await preprocessImage(image(name), cfg);
      const { mean, max } = absDiff(ours, rawToFloat32(ref));
      t.diagnostic(`${name}: mean abs diff ${mean.toExponential(2)}, max ${max.toFixed(4)}`);
      if (name.endsWith(".jpg")) {
        assert.ok(mean <= 0.03, `mean ${mean}`);
      } else {
        assert.ok(mean <= 0.01, `mean ${mean}`);
        assert.ok(max <= 0.15, `max ${max}`);
      }
      // Tighter than the acceptance bound, to catch drift: never more than one 8-bit level.
      assert.ok(max <= oneLevel, `max ${max} exceeds one 8-bit level (${oneLevel})`);
      assert.ok(mean <= 2e-4, `mean ${mean}`);
    });
  }

  test("preprocessImages batches the same values as one at a time", async () => {
    const paths = GOLDEN_FILES.map(image);
    const { data, shape } = await preprocessImages(paths, cfg, { concurrency: 3 });
    assert.deepEqual(shape, [paths.length, 3, 224, 224]);
    const per = 3 * 224 * 224;
    for (let i = 0; i < paths.length; i++) {
      assert.deepEqual(data.subarray(i * per, (i + 1) * per), await preprocessImage(paths[i], cfg), paths[i]);
    }
  });

  test("buffers give the same result as paths", async () => {
    const path = image("photo_800x600.jpg");
    assert.deepEqual(await preprocessImage(readFileSync(path), cfg), await preprocessImage(path, cfg));
    const u8 = new Uint8Array(readFileSync(path));
    assert.deepEqual(await preprocessImage(u8, cfg), await preprocessImage(path, cfg));
  });
});

describe("resizeRgb8 is Pillow-exact", () => {
  // sha256 (first 16 hex) of np.array(Image.fromarray(synth(w, h)).resize((ow, oh), filter)),
  // made with Pillow 9.4; covers down/upscale, one-axis-only passes and every filter.
  const PILLOW: [number, number, number, number, ResampleFilter, string][] = [
    [517, 383, 171, 127, "bicubic", "666272f78e36a2e0"],
    [61, 47, 224, 172, "bicubic", "7862afd1f1b56ad0"],
    [517, 383, 224, 166, "bilinear", "f937e896f08ca533"],
    [517, 383, 200, 150, "lanczos", "6d324cbafbb2ec8d"],
    [517, 383, 100, 75, "box", "362906dd20738ee9"],
    [517, 383, 300, 222, "hamming", "7ed6915d217785e4"],
    [517, 383, 224, 383, "bicubic", "c802233a410692ee"],
    [61, 47, 61, 224, "bicubic", "5c69a72e23be9e6f"],
    [517, 383, 224, 166, "nearest", "571688a98d9971e0"],
    [61, 47, 224, 172, "nearest", "ab3fbc0329670919"],
    [3000, 7, 224, 3, "bicubic", "8b8f4a2781e8d2fb"],
  ];
  for (const [w, h, ow, oh, filter, hash] of PILLOW) {
    test(`${w}x${h} -> ${ow}x${oh} ${filter}`, () => {
      const out = resizeRgb8(synth(w, h), ow, oh, filter);
      assert.equal(out.data.length, ow * oh * 3);
      assert.equal(createHash("sha256").update(out.data).digest("hex").slice(0, 16), hash);
    });
  }

  test("a window is exactly that part of the full resize", () => {
    const src = synth(517, 383);
    for (const filter of ["bicubic", "bilinear", "nearest"] as const) {
      const full = resizeRgb8(src, 298, 224, filter);
      const win = { x: 37, y: 5, width: 200, height: 211 };
      const part = resizeRgb8(src, 298, 224, filter, win);
      for (let y = 0; y < win.height; y++) {
        const start = ((win.y + y) * 298 + win.x) * 3;
        assert.deepEqual(part.data.subarray(y * win.width * 3, (y + 1) * win.width * 3), full.data.subarray(start, start + win.width * 3));
      }
    }
  });

  test("same size is a copy", () => {
    const src = synth(31, 17);
    assert.deepEqual(resizeRgb8(src, 31, 17, "bicubic").data, src.data);
  });

  test("a window outside the output is refused", () => {
    assert.throws(() => resizeRgb8(synth(10, 10), 5, 5, "bicubic", { x: 2, y: 0, width: 4, height: 5 }), RangeError);
  });
});

describe("resize size, crop, normalise", () => {
  test("long edge is truncated like int(size * long / short)", () => {
    const cfg = clipDefaults(224);
    assert.deepEqual(resizeOutputSize(480, 640, cfg), [224, 298]); // 298.67
    assert.deepEqual(resizeOutputSize(500, 300, cfg), [373, 224]); // 373.33
    assert.deepEqual(resizeOutputSize(60, 100, cfg), [224, 373]);
    assert.deepEqual(resizeOutputSize(224, 224, cfg), [224, 224]);
    assert.deepEqual(resizeOutputSize(3, 7, clipDefaults(2)), [2, 4]); // 4.67
    assert.deepEqual(resizeOutputSize(480, 640, { ...cfg, size: { height: 100, width: 50 } }), [100, 50]);
    assert.deepEqual(resizeOutputSize(480, 640, { ...cfg, doResize: false }), [480, 640]);
  });

  test("crop offset is (size - crop) // 2, and a too-small image is zero-padded ceil-first", () => {
    // 5 wide x 3 high, no resize, crop 4x4: left = (5-4)//2 = 0; top = (3-4)//2 = -1, so HF pads
    // ceil(1/2) = 1 row above and none below.
    const src = synth(5, 3);
    const cfg: ImageProcessorConfig = {
      ...clipDefaults(),
      doResize: false,
      cropSize: { height: 4, width: 4 },
      doRescale: false,
      doNormalize: false,
    };
    const { data, height, width } = preprocessRawImage(src, cfg);
    assert.deepEqual([height, width], [4, 4]);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) {
          const want = y === 0 ? 0 : src.data[((y - 1) * 5 + x) * 3 + c];
          assert.equal(data[c * 16 + y * 4 + x], want, `c${c} y${y} x${x}`);
        }
      }
    }
    // 6 wide, crop 3: left = (6-3)//2 = 1.
    const wide = preprocessRawImage(synth(6, 3), { ...cfg, cropSize: { height: 3, width: 3 } });
    assert.equal(wide.data[0], synth(6, 3).data[1 * 3]);
  });

  test("padding is normalised like a 0 pixel", () => {
    const cfg: ImageProcessorConfig = { ...clipDefaults(), doResize: false, cropSize: { height: 3, width: 3 } };
    const { data } = preprocessRawImage({ width: 1, height: 1, data: new Uint8Array([255, 255, 255]) }, cfg);
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(data[c * 9] - -cfg.mean[c] / cfg.std[c]) < 1e-6);
      assert.ok(Math.abs(data[c * 9 + 4] - (1 - cfg.mean[c]) / cfg.std[c]) < 1e-6);
    }
  });

  test("rescale and normalise can be switched off", () => {
    const px: RawImage = { width: 1, height: 1, data: new Uint8Array([51, 102, 255]) };
    const base: ImageProcessorConfig = { ...clipDefaults(1), doCenterCrop: false };
    assert.deepEqual([...preprocessRawImage(px, { ...base, doNormalize: false }).data], [0.2, 0.4, 1].map(Math.fround));
    assert.deepEqual([...preprocessRawImage(px, { ...base, doNormalize: false, doRescale: false }).data], [51, 102, 255]);
  });

  test("without center crop the output is the resized size", () => {
    const { height, width } = preprocessRawImage(synth(64, 48), { ...clipDefaults(24), doCenterCrop: false });
    assert.deepEqual([height, width], [24, 32]);
  });

  test("a batch of different sizes without crop is refused", async () => {
    const cfg = { ...clipDefaults(224), doCenterCrop: false };
    await assert.rejects(preprocessImages([image("square_224.png"), image("photo_640x480.png")], cfg), /different sizes/);
    const fixed = { ...cfg, size: { height: 32, width: 32 } };
    const { shape } = await preprocessImages([image("square_224.png"), image("photo_640x480.png")], fixed);
    assert.deepEqual(shape, [2, 3, 32, 32]);
  });
});

describe("decoding like PIL's convert('RGB')", () => {
  test("grey is replicated into three equal channels", async () => {
    const img = await decodeImage(image("gray_256.png"));
    assert.deepEqual([img.width, img.height], [256, 256]);
    for (let i = 0; i < img.data.length; i += 3) {
      assert.ok(img.data[i] === img.data[i + 1] && img.data[i] === img.data[i + 2], `pixel ${i / 3}`);
    }
    const grey = new Uint8Array(256).map((_, i) => i);
    const png = await sharp(grey, { raw: { width: 16, height: 16, channels: 1 } }).toColourspace("b-w").png().toBuffer();
    assert.equal(png[25], 0, "PNG colour type should be grey");
    const dec = await decodeImage(png);
    for (let i = 0; i < 256; i++) assert.deepEqual([...dec.data.subarray(i * 3, i * 3 + 3)], [i, i, i]);
  });

  test("alpha is dropped, not composited", async () => {
    const rgba = new Uint8Array([200, 10, 30, 0, 5, 250, 60, 128]);
    const png = await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
    assert.deepEqual([...(await decodeImage(png)).data], [200, 10, 30, 5, 250, 60]);
  });

  test("palette PNGs expand to their colours", async () => {
    const rgb = new Uint8Array(8 * 8 * 3);
    for (let i = 0; i < 64; i++) rgb.set([(i % 4) * 80, ((i >> 2) % 4) * 60, (i >> 4) * 70], i * 3);
    const png = await sharp(rgb, { raw: { width: 8, height: 8, channels: 3 } }).png({ palette: true, colours: 64, dither: 0 }).toBuffer();
    assert.equal(png[25], 3, "PNG colour type should be palette");
    assert.deepEqual((await decodeImage(png)).data, rgb);
  });

  test("16-bit RGB keeps the high byte, as PIL does", async () => {
    const u16 = new Uint16Array(30).map((_, i) => (i * 2731 + 97) % 65536);
    const png = await sharp(u16, { raw: { width: 10, height: 1, channels: 3 } }).toColourspace("rgb16").png().toBuffer();
    assert.equal(png[24], 16, "PNG bit depth should be 16");
    assert.deepEqual([...(await decodeImage(png)).data], [...u16].map((v) => v >> 8));
  });

  test("16-bit grey keeps the high byte (PIL would clip to 255; documented deviation)", async () => {
    const u16 = new Uint16Array([0, 255, 256, 40000, 65535]);
    const png = await sharp(u16, { raw: { width: 5, height: 1, channels: 1 } }).toColourspace("grey16").png().toBuffer();
    assert.deepEqual([png[24], png[25]], [16, 0]);
    const dec = await decodeImage(png);
    assert.deepEqual([...dec.data].filter((_, i) => i % 3 === 0), [0, 0, 1, 156, 255]);
  });

  test("EXIF orientation 6 is applied (rotate 90° clockwise)", async () => {
    const src = synth(37, 23);
    const raw = { raw: { width: 37, height: 23, channels: 3 as const } };
    const plain = await sharp(src.data, raw).jpeg({ quality: 90 }).toBuffer();
    const rotated = await sharp(src.data, raw).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer();
    assert.equal((await sharp(rotated).metadata()).orientation, 6);
    const a = await decodeImage(plain);
    const b = await decodeImage(rotated);
    assert.deepEqual([b.width, b.height], [23, 37]);
    // Clockwise: output (x, y) comes from stored (y, H - 1 - x). Same encoded pixels, so exact.
    for (let y = 0; y < 37; y++) {
      for (let x = 0; x < 23; x++) {
        const s = ((23 - 1 - x) * 37 + y) * 3;
        const d = (y * 23 + x) * 3;
        assert.deepEqual([...b.data.subarray(d, d + 3)], [...a.data.subarray(s, s + 3)], `(${x}, ${y})`);
      }
    }
  });

  test("embedded ICC profiles are ignored, as PIL does", async () => {
    const src = synth(16, 16);
    const tagged = await sharp(src.data, { raw: { width: 16, height: 16, channels: 3 } }).withIccProfile("p3").png().toBuffer();
    assert.ok((await sharp(tagged).metadata()).icc, "test image should carry a profile");
    const untagged = withoutPngChunk(tagged, "iCCP");
    assert.equal((await sharp(untagged).metadata()).icc, undefined);
    // Same stored pixels with and without the profile: it must change nothing.
    assert.deepEqual((await decodeImage(tagged)).data, (await decodeImage(untagged)).data);
  });
});

describe("errors", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "koclip-image-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function rejectsWith(p: Promise<unknown>, reason: "unreadable" | "too_large", ...parts: RegExp[]): Promise<void> {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof ImageDecodeError, `expected ImageDecodeError, got ${String(err)}`);
      assert.equal(err.reason, reason);
      for (const re of parts) assert.match(err.message, re);
      return true;
    });
  }

  test("a truncated PNG names the file, or 'buffer'", async () => {
    const bytes = readFileSync(image("photo_640x480.png"));
    const half = bytes.subarray(0, bytes.length >> 1);
    const path = join(dir, "truncated.png");
    await writeFile(path, half);
    await rejectsWith(preprocessImage(path, clipDefaults()), "unreadable", /truncated\.png/, /cannot decode/);
    await rejectsWith(preprocessImage(half, clipDefaults()), "unreadable", /buffer/);
  });

  test("a truncated JPEG is an error, not a half-grey image", async () => {
    const bytes = readFileSync(image("photo_800x600.jpg"));
    await rejectsWith(decodeImage(bytes.subarray(0, bytes.length - 100)), "unreadable", /buffer/, /JPEG/i);
  });

  test("a non-image names the file and sharp's reason", async () => {
    const path = join(dir, "notes.txt");
    await writeFile(path, "not an image at all\n");
    await rejectsWith(preprocessImage(path, clipDefaults()), "unreadable", /notes\.txt/, /unsupported image format/);
    await rejectsWith(preprocessImage(join(dir, "missing.png"), clipDefaults()), "unreadable", /missing\.png/);
    await rejectsWith(preprocessImage(Buffer.alloc(0), clipDefaults()), "unreadable", /buffer/);
  });

  test("more than maxPixels is 'too large', with the size", async () => {
    await rejectsWith(
      preprocessImage(image("photo_640x480.png"), clipDefaults(), { maxPixels: 640 * 480 - 1 }),
      "too_large",
      /too large/,
      /photo_640x480\.png/,
      /640x480/,
    );
    await preprocessImage(image("photo_640x480.png"), clipDefaults(), { maxPixels: 640 * 480 });
  });

  test("the pixel limit is checked from the header, before decoding", async () => {
    // A PNG that claims 20000 x 20000 (400 megapixels, 1.2 GB as RGB) but carries no pixel data:
    // only a header check can refuse it quickly and with the right reason.
    const started = performance.now();
    await rejectsWith(decodeImage(pngHeaderOnly(20000, 20000)), "too_large", /20000x20000/, /maxPixels=100000000/);
    assert.ok(performance.now() - started < 2000);
  });

  test("a failing image in a batch is named", async () => {
    await rejectsWith(preprocessImages([image("square_224.png"), join(dir, "nope.jpg")], clipDefaults()), "unreadable", /nope\.jpg/);
  });
});

const PNG_SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

function pngChunk(type: string, body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const typed = Buffer.concat([Buffer.from(type, "ascii"), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([len, typed, crc]);
}

/** IHDR (8-bit RGB) + an empty zlib stream + IEND: a valid-looking header for any size. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const emptyZlib = Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
  return Buffer.concat([PNG_SIGNATURE, pngChunk("IHDR", ihdr), pngChunk("IDAT", emptyZlib), pngChunk("IEND", Buffer.alloc(0))]);
}

/** The same PNG without the chunks of one type (the rest is copied byte for byte). */
function withoutPngChunk(png: Buffer, type: string): Buffer {
  const parts: Uint8Array[] = [PNG_SIGNATURE];
  for (let at = 8; at < png.length; ) {
    const end = at + 12 + png.readUInt32BE(at);
    if (png.toString("ascii", at + 4, at + 8) !== type) parts.push(png.subarray(at, end));
    at = end;
  }
  return Buffer.concat(parts);
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

describe("preprocessor config", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "koclip-imgcfg-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("current CLIPImageProcessor JSON", () => {
    const cfg = parseImageProcessorConfig({
      crop_size: { height: 336, width: 336 },
      do_center_crop: true,
      do_convert_rgb: true,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_processor_type: "CLIPImageProcessor",
      image_std: [0.26862954, 0.26130258, 0.27577711],
      resample: 3,
      rescale_factor: 0.00392156862745098,
      size: { shortest_edge: 336 },
    });
    assert.deepEqual(cfg, clipDefaults(336));
  });

  test("legacy CLIPFeatureExtractor JSON (int size and crop_size)", () => {
    const cfg = parseImageProcessorConfig({
      crop_size: 224,
      do_center_crop: true,
      do_normalize: true,
      do_resize: true,
      feature_extractor_type: "CLIPFeatureExtractor",
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
      resample: 3,
      size: 224,
    });
    assert.deepEqual(cfg, clipDefaults(224));
  });

  test("ViT-style JSON squashes to size and does not crop", () => {
    const cfg = parseImageProcessorConfig({
      image_processor_type: "ViTImageProcessor",
      size: { height: 384, width: 384 },
      image_mean: 0.5,
      image_std: [0.5, 0.5, 0.5],
      resample: 2,
    });
    assert.deepEqual(cfg.size, { height: 384, width: 384 });
    assert.equal(cfg.doCenterCrop, false);
    assert.equal(cfg.resample, "bilinear");
    assert.deepEqual(cfg.mean, [0.5, 0.5, 0.5]);
  });

  test("bad values are refused with the field name", () => {
    assert.throws(() => parseImageProcessorConfig({ size: { longest_edge: 224 } }), /longest_edge/);
    assert.throws(() => parseImageProcessorConfig({ resample: 9 }), /resample/);
    assert.throws(() => parseImageProcessorConfig({ image_std: [1, 0, 1] }), /image_std/);
    assert.throws(() => parseImageProcessorConfig({ crop_size: -1 }), /crop_size/);
    assert.throws(() => parseImageProcessorConfig([]), ConfigError);
  });

  test("loadImageProcessorConfig reads the file, or falls back to CLIP defaults", async () => {
    assert.deepEqual(await loadImageProcessorConfig(dir), clipDefaults(224));
    assert.deepEqual(await loadImageProcessorConfig(dir, 336), clipDefaults(336));
    await writeFile(join(dir, "preprocessor_config.json"), JSON.stringify({ size: { shortest_edge: 256 }, crop_size: 240 }));
    const cfg = await loadImageProcessorConfig(dir, 336);
    assert.equal(cfg.shortestEdge, 256);
    assert.deepEqual(cfg.cropSize, { height: 240, width: 240 });
    await writeFile(join(dir, "preprocessor_config.json"), "{ nope");
    await assert.rejects(loadImageProcessorConfig(dir), /preprocessor_config\.json: invalid JSON/);
  });
});
