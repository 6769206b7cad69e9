import assert from "node:assert/strict";
import { existsSync, realpathSync } from "node:fs";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import * as T from "../../../src/torch/index.js";

test("creation from nested arrays, typed arrays and scalars keeps values, shapes and dtypes", () => {
  T.tidy(() => {
    const a = T.tensor([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(a.shape, [2, 3]);
    assert.equal(a.dtype, "float32");
    assert.deepEqual(a.toArray(), [1, 2, 3, 4, 5, 6]);
    const b = T.tensor(new BigInt64Array([5n, -7n]));
    assert.equal(b.dtype, "int64");
    assert.deepEqual(b.toArray(), [5, -7]);
    assert.deepEqual(T.tensor(3.5).shape, []);
    assert.equal(T.tensor(3.5).item(), 3.5);
    const h = T.tensor([1.5, -2.25]).toDtype("float16");
    assert.equal(h.dtype, "float16");
    assert.deepEqual(Array.from(h.toFloat32Array()), [1.5, -2.25]);
    assert.deepEqual(Array.from(T.tensor([1, 2]).toDtype("bfloat16").toFloat32Array()), [1, 2]);
    assert.deepEqual(T.tensor([1, 0, 1], { dtype: "bool" }).toArray(), [1, 0, 1]);
    assert.deepEqual(T.arange(0, 5).toArray(), [0, 1, 2, 3, 4]);
    assert.deepEqual(T.full([2], 7).toArray(), [7, 7]);
  });
});

test("float16 and bfloat16 raw bits round-trip through fromBytes/toBytes", () => {
  T.tidy(() => {
    const bits = new Uint16Array([0x3c00, 0xc000]); // 1.0, -2.0 in float16
    const t = T.fromBytes(new Uint8Array(bits.buffer), "float16", [2]);
    assert.deepEqual(Array.from(t.toFloat32Array()), [1, -2]);
    assert.deepEqual(Array.from(t.toTypedArray() as Uint16Array), [0x3c00, 0xc000]);
  });
});

test("integer scalars keep integer dtypes, as Python ints do in PyTorch", () => {
  T.tidy(() => {
    assert.equal(T.tensor([1, 2], { dtype: "int64" }).mul(2).dtype, "int64");
    assert.equal(T.tensor([1, 2]).mul(2).dtype, "float32");
    assert.equal(T.tensor([1, 2], { dtype: "int64" }).mul(0.5).dtype, "float32");
  });
});

test("libtorch errors become JS exceptions with libtorch's message", () => {
  T.tidy(() => {
    const a = T.ones([2, 3]);
    assert.throws(() => a.matmul(T.ones([2, 3])), /cannot be multiplied/);
    assert.throws(() => a.reshape([4]), /invalid for input of size 6/);
    assert.throws(() => T.tensor([1, 2, 3], { shape: [2, 2] }), /bytes given, shape needs/);
    assert.throws(() => a.narrow(0, 5, 1), /start|out of range|exceeds/i);
  });
});

test("disposed tensors refuse use; dispose is idempotent", () => {
  const t = T.ones([2]);
  t.dispose();
  t.dispose();
  assert.ok(t.isDisposed);
  assert.throws(() => t.add(1), /disposed/);
});

test("tidy disposes intermediates and keeps returned tensors", () => {
  const before = T.liveTensors();
  const kept = T.tidy(() => {
    const a = T.ones([4]);
    const b = a.mul(3);
    return { sum: b.sum(), parts: [b.add(1)] };
  });
  assert.equal(T.liveTensors(), before + 2);
  assert.equal(kept.sum.item(), 12);
  T.disposeAll(kept);
  assert.equal(T.liveTensors(), before);
});

test("tidy disposes everything when fn throws, and refuses async fns", async () => {
  const before = T.liveTensors();
  assert.throws(() => T.tidy(() => { T.ones([3]).add(1); throw new Error("boom"); }), /boom/);
  assert.equal(T.liveTensors(), before);
  assert.throws(() => T.tidy(() => Promise.resolve(1) as unknown as number), /synchronous/);
});

test("keep() lets a tensor outlive nested scopes", () => {
  const before = T.liveTensors();
  let escaped: T.Tensor | null = null;
  T.tidy(() => T.tidy(() => { escaped = T.keep(T.ones([2])); }));
  assert.equal(T.liveTensors(), before + 1);
  escaped!.dispose();
});

test("using disposes at block end", () => {
  const before = T.liveTensors();
  {
    using t = T.ones([8]);
    assert.equal(t.numel, 8);
  }
  assert.equal(T.liveTensors(), before);
});

test("autograd: backward, grad, clearGrad, setting grad, noGrad", () => {
  T.tidy(() => {
    const w = T.tensor([1, 2, 3]).requireGrad();
    w.mul(w).sum().backward();
    assert.deepEqual(w.grad!.toArray(), [2, 4, 6]);
    w.mul(2).sum().backward(); // gradients accumulate
    assert.deepEqual(w.grad!.toArray(), [4, 6, 8]);
    w.clearGrad();
    assert.equal(w.grad, null);
    w.grad = T.tensor([9, 9, 9]);
    assert.deepEqual(w.grad!.toArray(), [9, 9, 9]);
    const y = T.noGrad(() => w.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(T.isGradEnabled(), true);
    {
      using _g = T.noGradGuard();
      assert.equal(T.isGradEnabled(), false);
    }
    assert.equal(T.isGradEnabled(), true);
  });
});

test("seeded randn is reproducible and independent of the global generator", () => {
  T.tidy(() => {
    const a = T.randn([5], { seed: 42 }).toArray();
    T.manualSeed(1);
    T.randn([3]);
    const b = T.randn([5], { seed: 42 }).toArray();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, T.randn([5], { seed: 43 }).toArray());
    const r = T.rand([1000], { seed: 1 });
    assert.ok(r.min().item() >= 0 && r.max().item() < 1);
  });
});

test("reductions, topk, softmax and attention give PyTorch's values", () => {
  T.tidy(() => {
    const x = T.tensor([[1, 5, 3], [7, 2, 9]]);
    assert.deepEqual(x.sumDim([1]).toArray(), [9, 18]);
    assert.deepEqual(x.argmax(1).toArray(), [1, 2]);
    const [v, i] = x.topk(2);
    assert.deepEqual(v.toArray(), [5, 3, 9, 7]);
    assert.deepEqual(i.toArray(), [1, 2, 2, 0]);
    const s = T.tensor([0, Math.log(3)]).softmax(0).toArray();
    assert.ok(Math.abs(s[0]! - 0.25) < 1e-6 && Math.abs(s[1]! - 0.75) < 1e-6);
    assert.ok(Math.abs(T.tensor([3, 4]).norm().item() - 5) < 1e-6);
    // attention with one query attending to two keys equally returns the mean of the values
    const q = T.zeros([1, 1, 1, 2]);
    const k = T.ones([1, 1, 2, 2]);
    const val = T.tensor([1, 2, 3, 4], { shape: [1, 1, 2, 2] });
    assert.deepEqual(T.scaledDotProductAttention(q, k, val).toArray(), [2, 3]);
  });
});

test("runtime reports libtorch's build and uses every core", () => {
  const info = T.buildInfo();
  assert.match(info.torchVersion, /^\d+\.\d+/);
  assert.ok(T.numThreads() >= 1);
  if (!process.env.KOCLIP_NUM_THREADS) assert.equal(T.numThreads(), availableParallelism());
});

test("with Debian's OpenMP OpenBLAS installed, libtorch's BLAS calls run on it (one thread pool)", (t) => {
  const openmp = "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0";
  if (!existsSync(openmp) || !T.buildInfo().config.includes("BLAS_INFO=generic")) return t.skip("not Debian's libtorch with libopenblas0-openmp");
  // A GEMM big enough to go to BLAS, so the library is the one libtorch's calls resolved to.
  T.tidy(() => T.randn([64, 64]).matmul(T.randn([64, 64])));
  const info = T.buildInfo();
  assert.equal(realpathSync(info.openblasLibrary), realpathSync(openmp));
  assert.notEqual(info.openblasCore, "");
});
