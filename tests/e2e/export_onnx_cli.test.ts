// `koclip export onnx` as a user runs it: the folder's files listed on stdout; clear usage errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";

const KOCLIP = join(REPO_ROOT, "bin", "koclip");
const run = (...args: string[]) => spawnSync(KOCLIP, args, { encoding: "utf8" });
const work = mkdtempSync(join(tmpdir(), "koclip-export-cli-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("koclip export onnx writes and lists the transformers.js folder", () => {
  const out = join(work, "mclip");
  const r = run("export", "onnx", "--model", fixture("mclip-tiny", "model"), "--vision", fixture("clip-tiny", "model"), "--out", out, "--precision", "int8");
  assert.equal(r.status, 0, r.stderr);
  const files = r.stdout.trim().split("\n");
  assert.deepEqual(files.filter((f) => f.startsWith("onnx/")), ["onnx/text_model_quantized.onnx", "onnx/vision_model_quantized.onnx"]);
  for (const f of files) assert.ok(existsSync(join(out, f)), f);
});

test("koclip export: usage errors exit 2 naming the problem", () => {
  const noOut = run("export", "onnx", "--model", fixture("clip-tiny", "model"));
  assert.equal(noOut.status, 2);
  assert.match(noOut.stderr, /--out DIR is required/);
  const badPrecision = run("export", "onnx", "--model", "m", "--out", "o", "--precision", "bf16");
  assert.equal(badPrecision.status, 2);
  assert.match(badPrecision.stderr, /--precision must be one of fp32, int8, got 'bf16'/);
  const unknown = run("export", "tflite");
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown export 'tflite' \(known: onnx/);
  const missing = run("export", "onnx", "--model", join(work, "nope"), "--out", join(work, "x"));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no such model folder/);
});
