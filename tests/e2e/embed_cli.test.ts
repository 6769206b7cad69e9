// `koclip embed` as a user runs it: JSON lines equal to the library's embeddings; clear errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../../src/index.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";

const KOCLIP = join(REPO_ROOT, "bin", "koclip");
const run = (...args: string[]) => spawnSync(KOCLIP, args, { encoding: "utf8" });

test("koclip embed prints one JSON line per input, matching the library", async () => {
  const model = fixture("koclip-tiny", "model");
  const image = fixture("image-processor", "images", "photo_800x600.jpg");
  const r = run("embed", "--model", model, "--text", "고양이 사진", "--text", "a dog", "--image", image);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.input, l.kind]), [["고양이 사진", "text"], ["a dog", "text"], [image, "image"]]);
  const m = await loadModel(model);
  const expected = [...(await m.encodeTexts(["고양이 사진", "a dog"])), ...(await m.encodeImages([image]))];
  m.dispose();
  lines.forEach((l, i) => {
    assert.equal(l.embedding.length, 16);
    const norm = Math.hypot(...l.embedding);
    assert.ok(Math.abs(norm - 1) < 1e-5, `row ${i} is L2-normalised (${norm})`);
    l.embedding.forEach((v: number, k: number) => assert.ok(Math.abs(v - expected[i]![k]!) < 1e-6));
  });
});

test("koclip embed: usage errors exit 2 with the usage, load errors exit 1 with one line", () => {
  const noInput = run("embed", "--model", fixture("koclip-tiny", "model"));
  assert.equal(noInput.status, 2);
  assert.match(noInput.stderr, /give at least one --text or --image/);
  assert.match(noInput.stderr, /usage: koclip embed/);
  const badBatch = run("embed", "--model", fixture("koclip-tiny", "model"), "--text", "x", "--batch-size", "1.5");
  assert.equal(badBatch.status, 2);
  assert.match(badBatch.stderr, /--batch-size must be an integer >= 1, got '1\.5'/);
  const badFlag = run("embed", "--modle", "x");
  assert.equal(badFlag.status, 2);
  assert.match(badFlag.stderr, /--modle/);
  const missing = run("embed", "--model", "/nonexistent/model", "--text", "x");
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr.trim(), "koclip embed: /nonexistent/model: no such model folder");
  const badImage = run("embed", "--model", fixture("koclip-tiny", "model"), "--image", join(REPO_ROOT, "package.json"));
  assert.equal(badImage.status, 1);
  assert.match(badImage.stderr, /package\.json/);
  const unknown = run("frobnicate");
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate' \(known: index, search, classify, serve, embed, train, eval, compare, export, tokenizer, data\)/);
});
