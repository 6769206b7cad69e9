// indexFolder with the tiny random koclip model: incremental add/change/touch/delete, skip
// reasons for every kind of bad file, re-embedding on a model change, thumbnails, and
// image -> image search finding the query image itself first.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";
import { decodeImage, ImageDecodeError } from "../../src/image/index.js";
import { indexFolder, type IndexProgress } from "../../src/collection/build.js";
import { Collection } from "../../src/collection/collection.js";
import { modelMismatch, searchByImage, searchByText } from "../../src/collection/query.js";
import { loadModel, type PretrainedModel } from "../../src/index.js";
import { fixture } from "../helpers/fixtures.js";

const IMAGES = fixture("image-processor", "images");
let model: PretrainedModel;
let work: string;

before(async () => {
  model = await loadModel(fixture("koclip-tiny", "model"));
  work = mkdtempSync(join(tmpdir(), "koclip-index-"));
});
after(() => {
  model.dispose();
  rmSync(work, { recursive: true, force: true });
});

function folder(name: string, files: string[]): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(join(IMAGES, f), join(dir, f));
  return dir;
}

function pngChunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])));
  return Buffer.concat([head, body, crc]);
}

/** A tiny PNG whose header claims width x height: one compressed row of pixels, then IEND (a decompression bomb's shape). */
function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  const row = deflateSync(Buffer.alloc(1 + width * 3));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk("IHDR", ihdr), pngChunk("IDAT", row), pngChunk("IEND", Buffer.alloc(0))]);
}

function rows(db: string) {
  const c = Collection.open(db, { readonly: true });
  try {
    return c.list().map((i) => ({ ...i, embedding: c.embedding(i.id)! }));
  } finally {
    c.close();
  }
}

test("incremental: added, unchanged, touched (same hash), changed (same id), deleted, new", async () => {
  const dir = folder("incr", ["photo_800x600.jpg", "square_224.png", "tall_300x500.png", "small_100x60.png"]);
  mkdirSync(join(dir, "sub"));
  copyFileSync(join(IMAGES, "rgba_320x240.png"), join(dir, "sub", "rgba.png"));
  writeFileSync(join(dir, "readme.txt"), "not an image extension: ignored, not skipped");
  const db = join(work, "incr.db");
  const progress: IndexProgress[] = [];
  const r1 = await indexFolder(dir, model, { db, batchSize: 2, onProgress: (p) => progress.push(p) });
  assert.deepEqual([r1.added, r1.updated, r1.unchanged, r1.removed, r1.skipped.length, r1.ignored], [5, 0, 0, 0, 0, 1]);
  assert.deepEqual(progress.map((p) => p.done), [0, 2, 4, 5]);
  assert.ok(progress.at(-1)!.rate > 0);
  const first = rows(db);
  assert.deepEqual(first.map((r) => r.relPath).sort(), ["photo_800x600.jpg", "small_100x60.png", "square_224.png", "sub/rgba.png", "tall_300x500.png"]);
  const photo = first.find((r) => r.relPath === "photo_800x600.jpg")!;
  assert.deepEqual([photo.width, photo.height, photo.path], [800, 600, join(dir, "photo_800x600.jpg")]);
  assert.equal(photo.size, readFileSync(join(dir, "photo_800x600.jpg")).length);

  const r2 = await indexFolder(dir, model, { db });
  assert.deepEqual([r2.added, r2.updated, r2.unchanged, r2.removed], [0, 0, 5, 0]);

  // New mtime, same bytes: hashed, found equal, only the mtime is updated.
  utimesSync(join(dir, "square_224.png"), new Date(), new Date(Date.now() + 5000));
  // Same name, new content: re-embedded in place (same id).
  copyFileSync(join(IMAGES, "gray_256.png"), join(dir, "tall_300x500.png"));
  unlinkSync(join(dir, "small_100x60.png"));
  copyFileSync(join(IMAGES, "photo_640x480.png"), join(dir, "sub", "new.png"));
  const r3 = await indexFolder(dir, model, { db });
  assert.deepEqual([r3.added, r3.updated, r3.unchanged, r3.removed], [1, 1, 3, 1]);
  const third = rows(db);
  assert.equal(third.length, 5);
  const before = first.find((r) => r.relPath === "tall_300x500.png")!;
  const now = third.find((r) => r.relPath === "tall_300x500.png")!;
  assert.equal(now.id, before.id);
  assert.notEqual(now.hash, before.hash);
  assert.deepEqual([now.width, now.height], [256, 256]);
  assert.notDeepEqual(Array.from(now.embedding), Array.from(before.embedding));
  const sq = third.find((r) => r.relPath === "square_224.png")!;
  assert.equal(sq.id, first.find((r) => r.relPath === "square_224.png")!.id);
  assert.ok(Math.abs(sq.mtimeMs - (Date.now() + 5000)) < 60_000, "mtime updated");
  // Embeddings equal a fresh encode of the file.
  const [fresh] = await model.encodeImages([join(dir, "tall_300x500.png")]);
  now.embedding.forEach((v, i) => assert.ok(Math.abs(v - fresh![i]!) < 1e-5));
  const r4 = await indexFolder(dir, model, { db });
  assert.deepEqual([r4.added, r4.updated, r4.unchanged, r4.removed], [0, 0, 5, 0]);
});

test("bad files are skipped with a reason each, never fatal; a fixed file is indexed next run", async () => {
  const dir = folder("bad", ["photo_800x600.jpg", "square_224.png"]);
  const png = readFileSync(join(IMAGES, "photo_640x480.png"));
  const jpg = readFileSync(join(IMAGES, "photo_800x600.jpg"));
  writeFileSync(join(dir, "truncated.png"), png.subarray(0, png.length >> 1));
  writeFileSync(join(dir, "truncated.jpg"), jpg.subarray(0, jpg.length >> 1));
  writeFileSync(join(dir, "corrupt.jpg"), Buffer.concat([jpg.subarray(0, 4), Buffer.alloc(4000, 0x5a)]));
  writeFileSync(join(dir, "empty.png"), Buffer.alloc(0));
  writeFileSync(join(dir, "notes.jpg"), "this is text, not a JPEG\n");
  writeFileSync(join(dir, "huge.png"), pngHeader(20000, 20000));
  await sharp(join(IMAGES, "tall_300x500.png")).resize(1000, 1000).png().toFile(join(dir, "big.png"));
  // Formats that decode: WebP and GIF (first frame).
  await sharp(join(IMAGES, "small_100x60.png")).webp().toFile(join(dir, "small.webp"));
  await sharp(join(IMAGES, "small_100x60.png")).gif().toFile(join(dir, "small.gif"));
  const db = join(work, "bad.db");
  const r = await indexFolder(dir, model, { db, maxPixels: 900_000 });
  assert.equal(r.added, 4, JSON.stringify(r.skipped));
  const reasons = Object.fromEntries(r.skipped.map((s) => [s.path.slice(dir.length + 1), s.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), ["big.png", "corrupt.jpg", "empty.png", "huge.png", "notes.jpg", "truncated.jpg", "truncated.png"]);
  assert.match(reasons["big.png"]!, /^too_large: .*1000x1000.*maxPixels=900000/);
  assert.match(reasons["huge.png"]!, /^too_large: .*20000x20000/);
  assert.equal(reasons["empty.png"], "unreadable: empty file");
  for (const f of ["corrupt.jpg", "notes.jpg", "truncated.jpg", "truncated.png"]) assert.match(reasons[f]!, /^unreadable: cannot decode image/, f);
  for (const reason of Object.values(reasons)) assert.ok(!reason.includes("\n"), reason);
  // The 20000x20000 header is refused at the default 100 MP limit too, from the header alone.
  await assert.rejects(decodeImage(pngHeader(20000, 20000)), (e: unknown) => e instanceof ImageDecodeError && e.reason === "too_large");

  const c = Collection.open(db, { readonly: true });
  assert.deepEqual(c.skipped().map((s) => s.path.slice(dir.length + 1)), Object.keys(reasons).sort());
  assert.equal(c.status().skipped, 7);
  c.close();

  // A higher limit and a repaired file: both indexed, their skip records gone; deleting a skipped file drops its record.
  copyFileSync(join(IMAGES, "gray_256.png"), join(dir, "truncated.png"));
  unlinkSync(join(dir, "notes.jpg"));
  const again = await indexFolder(dir, model, { db });
  assert.equal(again.added, 2);
  const c2 = Collection.open(db, { readonly: true });
  assert.deepEqual(c2.skipped().map((s) => s.path.slice(dir.length + 1)), ["corrupt.jpg", "empty.png", "huge.png", "truncated.jpg"]);
  assert.equal(c2.status().images, 6);
  c2.close();
  // An indexed image that becomes unreadable leaves the index and is recorded as skipped.
  writeFileSync(join(dir, "square_224.png"), "broken now");
  const broken = await indexFolder(dir, model, { db });
  assert.deepEqual(broken.skipped.map((s) => s.path.slice(dir.length + 1)).sort(), ["corrupt.jpg", "empty.png", "huge.png", "square_224.png", "truncated.jpg"]);
  assert.equal(rows(db).length, 5);
});

test("image -> image search finds the query image first; thumbnails are small JPEGs; status", async () => {
  const dir = folder("search", ["photo_800x600.jpg", "square_224.png", "tall_300x500.png", "small_100x60.png", "gray_256.png", "rgba_320x240.png"]);
  const db = join(work, "search.db");
  await indexFolder(dir, model, { db });
  const c = Collection.open(db, { readonly: true });
  try {
    for (const f of ["photo_800x600.jpg", "tall_300x500.png", "gray_256.png"]) {
      const byPath = await searchByImage(c, model, join(dir, f), 3);
      assert.equal(byPath[0]!.path, join(dir, f));
      assert.ok(byPath[0]!.score > 0.9999, `${byPath[0]!.score}`);
      assert.ok(byPath[0]!.score >= byPath[1]!.score && byPath[1]!.score >= byPath[2]!.score);
      const byBytes = await searchByImage(c, model, readFileSync(join(dir, f)), 1);
      assert.equal(byBytes[0]!.id, byPath[0]!.id);
    }
    const text = await searchByText(c, model, "바닷가의 강아지", 4);
    assert.equal(text.length, 4);
    for (let i = 1; i < text.length; i++) assert.ok(text[i - 1]!.score >= text[i]!.score);
    assert.equal((await searchByText(c, model, "고양이", 100)).length, 6);

    const photo = c.list().find((i) => i.relPath === "photo_800x600.jpg")!;
    const thumb = c.thumbnail(photo.id)!;
    const meta = await sharp(thumb).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", 256, 192]);
    const small = c.list().find((i) => i.relPath === "small_100x60.png")!;
    const sm = await sharp(c.thumbnail(small.id)!).metadata();
    assert.deepEqual([sm.width, sm.height], [100, 60], "never enlarged");
    assert.equal(c.thumbnail(99999), undefined);
    assert.equal(c.get(99999), undefined);

    const s = c.status();
    assert.equal(s.images, 6);
    assert.equal(s.embedDim, 16);
    assert.equal(s.root, dir);
    assert.equal(s.model, fixture("koclip-tiny", "model"));
    assert.equal(s.ann, "exact");
    assert.ok(s.updatedAt && !Number.isNaN(Date.parse(s.updatedAt)));
  } finally {
    c.close();
  }
});

test("a different model re-embeds everything; querying with the wrong model is refused", async () => {
  const dir = folder("models", ["photo_800x600.jpg", "square_224.png"]);
  const db = join(work, "models.db");
  await indexFolder(dir, model, { db });
  const other = await loadModel(fixture("clip-tiny", "model"));
  try {
    const c = Collection.open(db, { readonly: true });
    assert.match(modelMismatch(c, other) ?? "", /was indexed with another model/);
    await assert.rejects(searchByText(c, other, "cat", 1), /was indexed with another model/);
    assert.equal(modelMismatch(c, model), null);
    const r = await indexFolder(dir, other, { db });
    assert.deepEqual([r.reembedded, r.added, r.unchanged], [2, 2, 0]);
    assert.equal(c.status().model, fixture("clip-tiny", "model"));
    assert.equal(modelMismatch(c, other), null);
    const [e] = await other.encodeImages([join(dir, "square_224.png")]);
    const hit = (await searchByImage(c, other, join(dir, "square_224.png"), 1))[0]!;
    assert.equal(hit.path, join(dir, "square_224.png"));
    assert.ok(hit.score > 0.9999);
    assert.equal(c.embedding(hit.id)!.length, e!.length);
    c.close();
  } finally {
    other.dispose();
  }
});
