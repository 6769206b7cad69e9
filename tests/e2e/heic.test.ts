// HEIC (HEVC in HEIF, a phone's default) made at test time with Debian's heif-enc: decoded as the
// PNG or JPEG it came from, orientation included, and indexed and searched by `koclip`.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { decodeImage, ImageDecodeError, type RawImage } from "../../src/image/index.js";
import { loadModel } from "../../src/models/load.js";
import { buildServer } from "../../src/server/app.js";
import type { EmbedResponse } from "../../src/server/types.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";
import { multipart } from "./server_setup.js";

const HEIF_ENC = spawnSync("heif-enc", ["--help"]).error ? null : "heif-enc";
const skip = HEIF_ENC ? false : "heif-enc not found (apt install libheif-examples, as scripts/setup.sh does)";
const W = 64, H = 48;
let work: string;

/** Four flat quadrants (so any rotation or mirror shows), then a gradient across x. */
function pattern(): Buffer {
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      raw[i] = x < W / 2 ? 230 : 20;
      raw[i + 1] = y < H / 2 ? 200 : 40;
      raw[i + 2] = 60 + x;
    }
  }
  return raw;
}

/**
 * Rewrites the file's ICC `colr` property in place as an `irot` property (same size, so no offset
 * moves) turning the primary image `quarterTurnsCcw` × 90° counter-clockwise: how a phone stores a
 * portrait shot. heif-enc 1.15 writes no irot itself; the colr it writes belongs to the primary image.
 */
function setRotation(heic: Buffer, quarterTurnsCcw: number): Buffer {
  const out = Buffer.from(heic);
  const find = (type: string, from: number, end: number, header: number): [number, number] => {
    for (let at = from; at < end; at += out.readUInt32BE(at)) {
      if (out.toString("latin1", at + 4, at + 8) === type) return [at + header, at + out.readUInt32BE(at)];
    }
    throw new Error(`no ${type} box`);
  };
  const [meta, metaEnd] = find("meta", 0, out.length, 12);
  const [iprp, iprpEnd] = find("iprp", meta, metaEnd, 8);
  const [ipco, ipcoEnd] = find("ipco", iprp, iprpEnd, 8);
  const [colrBody] = find("colr", ipco, ipcoEnd, 8);
  out.write("irot", colrBody - 4, "latin1");
  out[colrBody] = quarterTurnsCcw;
  out.fill(0, colrBody + 1, colrBody + 4);
  return out;
}

/** Mean of each quadrant's RGB: robust to lossy coding, and different under any turn or mirror. */
function quadrantMeans(img: RawImage): number[] {
  const sums = new Array(12).fill(0);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const q = (y < img.height / 2 ? 0 : 2) + (x < img.width / 2 ? 0 : 1);
      for (let c = 0; c < 3; c++) sums[q * 3 + c] += img.data[(y * img.width + x) * 3 + c]!;
    }
  }
  return sums.map((s) => s / ((img.width * img.height) / 4));
}

function assertClose(got: RawImage, want: RawImage, tolerance: number): void {
  assert.deepEqual([got.width, got.height], [want.width, want.height]);
  const [g, w] = [quadrantMeans(got), quadrantMeans(want)];
  g.forEach((v, i) => assert.ok(Math.abs(v - w[i]!) <= tolerance, `quadrant channel ${i}: ${v.toFixed(1)} vs ${w[i]!.toFixed(1)}`));
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), "koclip-heic-"));
  const raw = { raw: { width: W, height: H, channels: 3 as const } };
  await sharp(pattern(), raw).png().toFile(join(work, "plain.png"));
  // Orientation 6: stored sideways, shown turned 90° clockwise, as a phone held upright writes a JPEG.
  await sharp(pattern(), raw).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(join(work, "portrait.jpg"));
  execFileSync(HEIF_ENC!, ["-L", "-p", "chroma=444", join(work, "plain.png"), "-o", join(work, "plain.heic")]);
  execFileSync(HEIF_ENC!, ["-q", "95", join(work, "portrait.jpg"), "-o", join(work, "exif-only.heic")]);
  // irot 3 = three quarter turns counter-clockwise = 90° clockwise, the same turn as Exif orientation 6.
  writeFileSync(join(work, "portrait.heic"), setRotation(readFileSync(join(work, "exif-only.heic")), 3));
});
after(() => work && rmSync(work, { recursive: true, force: true }));

test("a HEIC decodes to the pixels of the PNG it was made from (file and buffer)", { skip }, async () => {
  const png = await decodeImage(join(work, "plain.png"));
  const fromFile = await decodeImage(join(work, "plain.heic"));
  const fromBuffer = await decodeImage(readFileSync(join(work, "plain.heic")));
  assert.deepEqual(fromBuffer, fromFile);
  assert.equal(fromFile.data.length, W * H * 3);
  // Lossless HEVC of 4:4:4 YCbCr: only the RGB <-> YCbCr rounding differs.
  let maxDiff = 0;
  fromFile.data.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - png.data[i]!))));
  assert.ok(maxDiff <= 3, `max difference ${maxDiff}`);
});

test("a HEIC's rotation (irot) is applied like a JPEG's Exif orientation, and its Exif orientation is not applied twice", { skip }, async () => {
  const jpeg = await decodeImage(join(work, "portrait.jpg"));
  assert.deepEqual([jpeg.width, jpeg.height], [H, W]);
  assert.match(execFileSync("heif-info", [join(work, "portrait.heic")], { encoding: "utf8" }), /Exif: \d+ bytes/);
  assertClose(await decodeImage(join(work, "portrait.heic")), jpeg, 4);
  // Without irot the stored orientation is the shown one, whatever the Exif says (HEIF spec, libvips).
  assertClose(await decodeImage(join(work, "exif-only.heic")), await decodeImage(join(work, "plain.png")), 4);
});

test("HEIC errors: too many pixels is refused before decoding; a truncated file is unreadable", { skip }, async () => {
  const bytes = readFileSync(join(work, "plain.heic"));
  await assert.rejects(decodeImage(bytes, W * H - 1), (err: ImageDecodeError) => {
    assert.equal(err.reason, "too_large");
    assert.equal(err.message, `image too large: buffer (${W}x${H}) has more than maxPixels=${W * H - 1} pixels`);
    return true;
  });
  await assert.rejects(decodeImage(bytes.subarray(0, 200)), (err: ImageDecodeError) => err.reason === "unreadable" && /^cannot decode image buffer: heif: /.test(err.message));
});

test("koclip index takes HEIC photos, and search --image finds a HEIC by itself", { skip }, () => {
  const photos = join(work, "photos");
  mkdirSync(photos, { recursive: true });
  for (const f of ["plain.heic", "portrait.heic", "plain.png"]) writeFileSync(join(photos, f), readFileSync(join(work, f)));
  writeFileSync(join(photos, "photo.jpg"), readFileSync(fixture("image-processor", "images", "photo_800x600.jpg")));
  const koclip = (...args: string[]) => spawnSync(join(REPO_ROOT, "bin", "koclip"), args, { encoding: "utf8" });
  const db = join(work, "photos.db");
  const model = fixture("koclip-tiny", "model");
  const index = koclip("index", photos, "--model", model, "--db", db, "--json");
  assert.equal(index.status, 0, index.stderr);
  const report = JSON.parse(index.stdout);
  assert.deepEqual([report.added, report.skipped], [4, []]);
  const search = koclip("search", "--image", join(work, "portrait.heic"), "--db", db, "--model", model, "--json", "-k", "1");
  assert.equal(search.status, 0, search.stderr);
  const [hit] = JSON.parse(search.stdout).hits;
  assert.equal(hit.path, join(photos, "portrait.heic"));
  assert.ok(hit.score > 0.9999, `score ${hit.score}`);
});

test("the server embeds an uploaded HEIC as the library does, and checks its size from the header", { skip }, async () => {
  const model = await loadModel(fixture("koclip-tiny", "model"));
  const app = await buildServer({ model, collection: null, webRoot: false, limits: { maxPixels: W * H } });
  try {
    const heic = readFileSync(join(work, "portrait.heic"));
    const res = await app.inject({ method: "POST", url: "/api/embed", ...(await multipart([["images", { data: heic, filename: "IMG_0001.HEIC", type: "image/heic" }]])) });
    assert.equal(res.statusCode, 200, res.body);
    const [expected] = await model.encodeImages([join(work, "portrait.heic")]);
    assert.deepEqual((res.json() as EmbedResponse).images[0]!.embedding, Array.from(expected!));
    const strict = await buildServer({ model, collection: null, webRoot: false, limits: { maxPixels: W * H - 1 } });
    const big = await strict.inject({ method: "POST", url: "/api/embed", ...(await multipart([["images", { data: heic, filename: "IMG_0001.HEIC" }]])) });
    await strict.close();
    assert.equal(big.statusCode, 413, big.body);
    assert.ok(big.body.includes(`IMG_0001.HEIC) is ${H}x${W} = ${W * H} pixels`), big.body);
  } finally {
    await app.close();
    model.dispose();
  }
});
