// koclip export onnx: onnxruntime-node running the exported graphs reproduces our encoders, for
// every model family we export: ≤ 1e-4 at fp32, cosine ≥ 0.999 per row at int8.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { exportOnnx } from "../../src/export/onnx/export.js";
import { loadModel } from "../../src/models/load.js";
import type { PretrainedModel } from "../../src/models/pretrained.js";
import * as T from "../../src/torch/index.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";
import { loadGolden } from "../helpers/golden.js";

const work = mkdtempSync(join(tmpdir(), "koclip-onnx-"));
after(() => rmSync(work, { recursive: true, force: true }));

interface Inputs {
  inputIds: T.Tensor;
  attentionMask: T.Tensor;
  pixels: T.Tensor | null;
}

function ortTensor(t: T.Tensor): ort.Tensor {
  return t.dtype === "int64"
    ? new ort.Tensor("int64", t.toTypedArray() as BigInt64Array, t.shape)
    : new ort.Tensor("float32", t.toFloat32Array(), t.shape);
}

async function runOnnx(file: string, feeds: Record<string, T.Tensor>, output: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, ortTensor(v)])));
    return out[output]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, "lengths differ");
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** The smallest cosine similarity between matching rows of two [rows, dim] arrays. */
function minRowCosine(a: Float32Array, b: Float32Array, dim: number): number {
  let worst = 1;
  for (let r = 0; r < a.length / dim; r++) {
    let dot = 0, na = 0, nb = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      dot += a[i]! * b[i]!;
      na += a[i]! ** 2;
      nb += b[i]! ** 2;
    }
    worst = Math.min(worst, dot / Math.sqrt(na * nb));
  }
  return worst;
}

async function checkParity(name: string, model: PretrainedModel, inputs: Inputs): Promise<void> {
  const ours = model.infer(() => ({
    text: model.encoder.encodeText({ inputIds: inputs.inputIds, attentionMask: inputs.attentionMask }, { normalize: false }).toFloat32Array(),
    image: inputs.pixels ? model.encoder.encodeImage(inputs.pixels, { normalize: false }).toFloat32Array() : null,
  }));
  const out = join(work, name);
  exportOnnx(model, out, { precision: "fp32" });
  exportOnnx(model, out, { precision: "int8" });
  const dim = model.embedDim;
  for (const [suffix, check] of [["", "fp32"], ["_quantized", "int8"]] as const) {
    const text = await runOnnx(join(out, "onnx", `text_model${suffix}.onnx`), { input_ids: inputs.inputIds, attention_mask: inputs.attentionMask }, "text_embeds");
    const image = inputs.pixels ? await runOnnx(join(out, "onnx", `vision_model${suffix}.onnx`), { pixel_values: inputs.pixels }, "image_embeds") : null;
    if (check === "fp32") {
      assert.ok(maxAbsDiff(text, ours.text) <= 1e-4, `${name} text fp32: max abs diff ${maxAbsDiff(text, ours.text).toExponential(2)}`);
      if (image) assert.ok(maxAbsDiff(image, ours.image!) <= 1e-4, `${name} image fp32: max abs diff ${maxAbsDiff(image, ours.image!).toExponential(2)}`);
    } else {
      assert.ok(minRowCosine(text, ours.text, dim) >= 0.999, `${name} text int8: cosine ${minRowCosine(text, ours.text, dim)}`);
      if (image) assert.ok(minRowCosine(image, ours.image!, dim) >= 0.999, `${name} image int8: cosine ${minRowCosine(image, ours.image!, dim)}`);
    }
  }
  for (const file of ["config.json", "tokenizer.json", "onnx/text_model.onnx", "onnx/text_model_quantized.onnx"]) {
    assert.ok(existsSync(join(out, file)), `${name}: ${file} written`);
  }
  assert.equal(existsSync(join(out, "onnx", "vision_model.onnx")), inputs.pixels !== null, `${name}: vision_model.onnx exactly when there is an image tower`);
}

function goldenInputs(name: string, withPixels: boolean): Inputs {
  const g = loadGolden(name);
  return { inputIds: g.get("input_ids"), attentionMask: g.get("attention_mask"), pixels: withPixels ? g.get("pixel_values") : null };
}

for (const name of ["koclip-tiny", "clip-tiny"]) {
  test(`${name}: exported ONNX towers reproduce encodeText/encodeImage on the golden inputs`, async () => {
    const model = await loadModel(fixture(name, "model"));
    try {
      await checkParity(name, model, goldenInputs(name, true));
    } finally {
      model.dispose();
    }
  });
}

test("mclip-tiny: text tower alone, and with its CLIP's image tower", async () => {
  const text = await loadModel(fixture("mclip-tiny", "model"));
  try {
    await checkParity("mclip-tiny", text, goldenInputs("mclip-tiny", false));
  } finally {
    text.dispose();
  }
  const paired = await loadModel(fixture("mclip-tiny", "model"), { vision: fixture("clip-tiny", "model") });
  try {
    await checkParity("mclip-tiny+clip-tiny", paired, { ...goldenInputs("mclip-tiny", false), pixels: loadGolden("clip-tiny").get("pixel_values") });
  } finally {
    paired.dispose();
  }
});

test("koclip-emoji: Korean queries and images through the exported towers", async () => {
  const model = await loadModel(join(REPO_ROOT, "models", "koclip-emoji"));
  try {
    const batch = model.tokenize(["웃는 얼굴", "빨간 사과", "바닷가의 강아지와 고양이", "불"]);
    T.manualSeed(0);
    const s = model.encoder.imageSize;
    await checkParity("koclip-emoji", model, { ...batch, pixels: T.randn([3, 3, s, s]) });
  } finally {
    model.dispose();
  }
});

test("exported config.json is the model's own", async () => {
  const model = await loadModel(fixture("koclip-tiny", "model"));
  try {
    const out = join(work, "config-check");
    const files = exportOnnx(model, out);
    assert.deepEqual(JSON.parse(readFileSync(join(out, "config.json"), "utf8")), model.configJson);
    assert.ok(files.includes("onnx/vision_model.onnx") && files.includes("preprocessor_config.json"), files.join(", "));
  } finally {
    model.dispose();
  }
});
