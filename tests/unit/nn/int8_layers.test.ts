// The int8 routes of Linear's neighbours: query/key/value packed as one GEMM, and a patchify
// convolution run as a GEMM over its unfolded patches. Each must give what the same int8
// quantisation gives layer by layer, and stay close to float32.
import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../../../src/models/load.js";
import { saveModel } from "../../../src/models/save.js";
import { Conv2d, Linear, SharedInputLinears, VarStore, zerosInit } from "../../../src/nn/index.js";
import * as T from "../../../src/torch/index.js";
import { REPO_ROOT } from "../../helpers/fixtures.js";

function maxAbs(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

test("SharedInputLinears at int8: one product gives each layer's own int8 result; at fp32 each layer's float result", () => {
  T.tidy(() => {
    T.manualSeed(3);
    const store = VarStore.fresh({ trainable: false, precision: "int8" });
    const layers = [0, 1, 2].map((i) => new Linear(store.root.pp(`l${i}`), 24, 16 + 8 * i, { int8: false }));
    const floats = layers.map((l) => ({ weight: l.weight.clone(), bias: l.bias!.clone() })); // packing frees the weights
    const fused = new SharedInputLinears(store, layers);
    assert.deepEqual(store.released, ["l0.weight", "l1.weight", "l2.weight"]);
    const x = T.randn([2, 5, 24], { seed: 9 });
    const outs = T.noGrad(() => fused.forward(x));
    floats.forEach(({ weight, bias }, i) => {
      assert.deepEqual(outs[i]!.shape, [2, 5, 16 + 8 * i]);
      using own = T.Int8Linear.pack(weight, bias);
      const want = T.noGrad(() => own.forward(x)).toFloat32Array();
      assert.ok(maxAbs(outs[i]!.toFloat32Array(), want) < 1e-5, `layer ${i} differs from its own int8 packing`);
      const float = T.noGrad(() => x.linear(weight, bias)).toFloat32Array();
      assert.ok(maxAbs(want, float) < 0.05, `layer ${i} far from float32`);
    });
    store.dispose();
    const fp32 = VarStore.fresh({ trainable: false });
    const plain = [0, 1].map((i) => new Linear(fp32.root.pp(`l${i}`), 24, 8, { int8: false }));
    const [a, b] = T.noGrad(() => new SharedInputLinears(fp32, plain).forward(x));
    assert.deepEqual(Array.from(a!.toFloat32Array()), Array.from(T.noGrad(() => plain[0]!.forward(x)).toFloat32Array()));
    assert.deepEqual(Array.from(b!.toFloat32Array()), Array.from(T.noGrad(() => plain[1]!.forward(x)).toFloat32Array()));
    assert.deepEqual(fp32.released, [], "fp32 keeps every weight");
    assert.throws(() => new SharedInputLinears(fp32, [plain[0]!, new Linear(fp32.root.pp("nobias"), 24, 8, { bias: false })]), /all have biases or all have none/);
    fp32.dispose();
  });
});

test("an int8 model keeps each packed Linear weight once, as int8: the float copy is freed, and saving the model is a clear error", async () => {
  const dir = join(REPO_ROOT, "models", "koclip-emoji");
  const fp32 = await loadModel(dir);
  const int8 = await loadModel(dir, { precision: "int8" });
  try {
    const released = int8.encoder.store.released;
    assert.ok(released.length > 0 && released.every((n) => n.endsWith(".weight")), "Linear weights are freed");
    assert.deepEqual([...int8.encoder.store.vars.keys(), ...released].sort(), [...fp32.encoder.store.vars.keys()].sort(), "every other parameter stays");
    const [one, two] = await int8.encodeTexts(["웃는 얼굴", "고양이"]);
    const [want] = await fp32.encodeTexts(["웃는 얼굴"]);
    assert.ok(one!.reduce((s, x, i) => s + x * want![i]!, 0) > 0.99, "the int8 model still embeds like fp32");
    assert.ok(two!.some((x, i) => x !== one![i]));
    assert.throws(() => int8.encoder.store.variable(released[0]!, [1], zerosInit), /was freed once its int8 packing replaced it/);
    const out = mkdtempSync(join(tmpdir(), "koclip-int8-save-"));
    try {
      assert.throws(() => saveModel(int8, out), /loaded at int8 precision.*load it with precision fp32 to save it/);
      assert.deepEqual(readdirSync(out), [], "nothing is written");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    int8.dispose();
    fp32.dispose();
  }
});

test("Conv2d at int8: a patchify convolution runs as an int8 GEMM over its patches, close to float32's convolution", () => {
  T.tidy(() => {
    T.manualSeed(4);
    const store = VarStore.fresh({ trainable: false, precision: "int8" });
    const patchify = new Conv2d(store.root.pp("patch"), 3, 12, 4, { stride: 4 });
    const overlapping = new Conv2d(store.root.pp("conv"), 3, 12, 3, { stride: 1, padding: 1 });
    const x = T.randn([2, 3, 8, 12], { seed: 5 });
    const got = T.noGrad(() => patchify.forward(x));
    assert.deepEqual(got.shape, [2, 12, 2, 3]);
    const float = T.noGrad(() => x.conv2d(patchify.weight, patchify.bias, [4, 4], [0, 0]));
    const err = maxAbs(got.toFloat32Array(), float.toFloat32Array());
    assert.ok(err > 0 && err < 0.05, `int8 patch embedding error ${err} (0 would mean it did not run in int8)`);
    // Sizes that do not divide into patches, and other convolutions, keep the float route.
    const odd = T.randn([1, 3, 9, 12], { seed: 6 });
    assert.deepEqual(T.noGrad(() => patchify.forward(odd)).toFloat32Array(), T.noGrad(() => odd.conv2d(patchify.weight, patchify.bias, [4, 4], [0, 0])).toFloat32Array());
    assert.deepEqual(T.noGrad(() => overlapping.forward(x)).toFloat32Array(), T.noGrad(() => x.conv2d(overlapping.weight, overlapping.bias, [1, 1], [1, 1])).toFloat32Array());
    store.dispose();
  });
});
