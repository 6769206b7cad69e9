// Inference precisions (loadModel's `precision`): the fast paths give the fp32 embeddings back to
// cosine 0.999 on real images and Korean texts, and really run in the precision they name.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { cosine, loadModel, type PretrainedModel } from "../../src/index.js";
import { KoClipModel } from "../../src/models/koclip/index.js";
import { VarStore } from "../../src/nn/index.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";

const MODEL = fixture("koclip-tiny", "model");
const IMAGES = ["photo_640x480.png", "photo_800x600.jpg", "tall_300x500.png", "square_224.png", "gray_256.png"].map((f) => fixture("image-processor", "images", f));
const TEXTS = ["고양이 사진", "바닷가의 강아지", "빨간 사과 두 개", "밤하늘의 보름달", "a dog"];

async function embeddings(model: PretrainedModel): Promise<Float32Array[]> {
  return [...(await model.encodeImages(IMAGES)), ...(await model.encodeTexts(TEXTS))];
}

test("bf16 precision: bfloat16 matmul weights, float32 norms; embeddings within cosine 0.999 of fp32", async () => {
  const fp32 = await loadModel(MODEL);
  const bf16 = await loadModel(MODEL, { precision: "bf16" });
  const koclip = bf16.encoder as KoClipModel;
  assert.equal(koclip.visualProjection.weight.dtype, "bfloat16");
  assert.equal(koclip.textModel.layers[0]!.intermediate.weight.dtype, "bfloat16");
  assert.equal(koclip.visionModel.embeddings.patchEmbedding.weight.dtype, "bfloat16");
  assert.equal(koclip.visionModel.preNorm.weight.dtype, "float32");
  assertClose(await embeddings(fp32), await embeddings(bf16), "bf16");
  fp32.dispose();
  bf16.dispose();
});

test("int8 precision: embeddings within cosine 0.999 of fp32, and different from both fp32 and bf16", async () => {
  const [fp32, bf16, int8] = [await loadModel(MODEL), await loadModel(MODEL, { precision: "bf16" }), await loadModel(MODEL, { precision: "int8" })];
  const [a, b, c] = [await embeddings(fp32), await embeddings(bf16), await embeddings(int8)];
  assertClose(a, c, "int8");
  assert.ok(c.some((row, i) => row.some((v, k) => v !== b[i]![k])), "int8 gave the bf16 numbers exactly: were the Linear layers quantised?");
  [fp32, bf16, int8].forEach((m) => m.dispose());
});

/** Every row within cosine 0.999 of fp32's, and not all bit-identical (the precision really ran). */
function assertClose(fp32: Float32Array[], fast: Float32Array[], what: string): void {
  fp32.forEach((row, i) => {
    const c = cosine(row, fast[i]!);
    assert.ok(c >= 0.999, `${what} row ${i}: cosine ${c}`);
  });
  assert.ok(fp32.some((row, i) => row.some((v, k) => v !== fast[i]![k])), `${what} gave the fp32 numbers exactly: did it run in ${what}?`);
}

test("low precisions are for inference, int8 for the CPU: stores refuse them otherwise", () => {
  assert.throws(() => VarStore.fresh({ precision: "bf16" }), /precision bf16 is for inference/);
  assert.throws(() => VarStore.fresh({ precision: "int8", trainable: false, device: "cuda" }), /precision int8 runs on the CPU only/);
});

test("koclip embed --precision bf16|int8 prints embeddings close to fp32; an unknown precision is a usage error", () => {
  const run = (...args: string[]) => spawnSync(join(REPO_ROOT, "bin", "koclip"), ["embed", "--model", MODEL, "--text", "고양이 사진", ...args], { encoding: "utf8" });
  const fp32 = run();
  for (const precision of ["bf16", "int8"]) {
    const fast = run("--precision", precision);
    assert.equal(fast.status, 0, fast.stderr);
    const c = cosine(Float32Array.from(JSON.parse(fp32.stdout).embedding), Float32Array.from(JSON.parse(fast.stdout).embedding));
    assert.ok(c >= 0.999, `${precision}: cosine ${c}`);
  }
  const bad = run("--precision", "fp64");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--precision must be one of fp32, bf16, int8, got 'fp64'/);
});
