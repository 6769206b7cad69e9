// Int8Linear: dynamically quantised int8 GEMMs against float32 linear, and the lifetime of the
// packed weight (its own dispose, and a VarStore's when a Linear is built with precision int8).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Linear, VarStore } from "../../../src/nn/index.js";
import * as T from "../../../src/torch/index.js";

const relativeError = (a: T.Tensor, b: T.Tensor) => T.tidy(() => a.sub(b).norm().item() / b.norm().item());

test("Int8Linear gives float32 x·Wᵀ + b within 2% on [B, T, in] inputs, with and without bias", () => {
  assert.match(T.quantizedEngine(), /^(ONEDNN|X86|FBGEMM|QNNPACK)$/);
  T.tidy(() => {
    const w = T.randn([96, 64], { seed: 1 }).mul(0.05), b = T.randn([96], { seed: 2 }), x = T.randn([4, 7, 64], { seed: 3 });
    for (const bias of [b, null]) {
      using q = T.Int8Linear.pack(w, bias);
      const y = q.forward(x);
      assert.deepEqual(y.shape, [4, 7, 96]);
      assert.equal(y.dtype, "float32");
      const err = relativeError(y, x.linear(w, bias));
      assert.ok(err < 0.02 && err > 0, `relative error ${err}`);
    }
    using q = T.Int8Linear.pack(w, b);
    assert.ok(relativeError(q.forward(x.toDtype("bfloat16")), x.linear(w, b)) < 0.03, "bfloat16 inputs are cast, not refused");
  });
});

test("Int8Linear: forward after dispose throws; a VarStore built with int8 frees its layers' packed weights", () => {
  const w = T.randn([8, 4], { seed: 1 });
  const q = T.Int8Linear.pack(w, null);
  q.dispose();
  q.dispose(); // twice is fine
  assert.throws(() => q.forward(T.ones([1, 4])), /Int8Linear was disposed/);
  T.manualSeed(5);
  const float = new Linear(VarStore.fresh({ trainable: false }).root.pp("fc"), 4, 8);
  T.manualSeed(5); // the same initial weights, packed (which frees the store's float copy)
  const store = VarStore.fresh({ trainable: false, precision: "int8" });
  const layer = new Linear(store.root.pp("fc"), 4, 8);
  const x = T.randn([2, 4], { seed: 2 });
  assert.ok(relativeError(layer.forward(x), x.linear(float.weight, float.bias)) < 0.02);
  // int8: false keeps a layer in float (the embedding-producing projections and poolers do).
  const kept = new Linear(store.root.pp("proj"), 4, 8, { int8: false });
  T.tidy(() => assert.equal(kept.forward(x).sub(x.linear(kept.weight, kept.bias)).abs().max().item(), 0));
  store.dispose();
  assert.throws(() => layer.forward(x), /Int8Linear was disposed/);
  T.disposeAll([w, x, float.weight, float.bias!]);
});
