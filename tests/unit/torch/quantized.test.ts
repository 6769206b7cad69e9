// Int8Linear: dynamically quantised int8 GEMMs against float32 linear, and the lifetime of the
// packed weight (its own dispose, and a VarStore's when a Linear is built with precision int8).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
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

/** The largest relative error of one row of `a` [..., width] against `b`'s. */
function worstRowError(a: T.Tensor, b: T.Tensor, width: number): number {
  const [x, y] = [a.toFloat32Array(), b.toFloat32Array()];
  let worst = 0;
  for (let r = 0; r < x.length / width; r++) {
    let [diff, norm] = [0, 0];
    for (let i = r * width; i < (r + 1) * width; i++) [diff, norm] = [diff + (x[i]! - y[i]!) ** 2, norm + y[i]! ** 2];
    worst = Math.max(worst, Math.sqrt(diff / norm));
  }
  return worst;
}

/** Rounds half to even, as the CPU's float-to-int conversion does. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The addon's int8 layer written out in float arithmetic: weights symmetric per output channel
 * (scale max|w|/127), each input row quantised to uint8 on its own range the way PyTorch's
 * linear_dynamic quantises a whole tensor (range widened to 0, scale = range/255 as a float,
 * zero point = round(-min/scale), x·(1/scale) rounded half to even).
 */
function perRowInt8Reference(x: Float32Array, rows: number, inF: number, w: Float32Array, outF: number, b: Float32Array | null): Float32Array {
  const wScale = Array.from({ length: outF }, (_, n) => Math.max(Math.fround(Math.max(...Array.from(w.subarray(n * inF, (n + 1) * inF), Math.abs)) / 127), 1e-12));
  const wq = w.map((v, i) => Math.max(-127, Math.min(127, roundHalfEven(v / wScale[Math.floor(i / inF)]!))));
  const y = new Float32Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * inF, (r + 1) * inF);
    const lo = Math.min(0, ...row), hi = Math.max(0, ...row);
    let scale = Math.fround((hi - lo) / 255);
    if (scale === 0) scale = Math.fround(0.1);
    const zero = Math.max(0, Math.min(255, roundHalfEven(-lo / scale)));
    const inverse = Math.fround(1 / scale);
    const q = row.map((v) => Math.max(0, Math.min(255, roundHalfEven(Math.fround(v * inverse)) + zero)));
    for (let n = 0; n < outF; n++) {
      let acc = 0;
      for (let k = 0; k < inF; k++) acc += (q[k]! - zero) * wq[n * inF + k]!;
      y[r * outF + n] = acc * scale * wScale[n]! + (b ? b[n]! : 0);
    }
  }
  return y;
}

// Where the addon calls oneDNN itself (Debian's libtorch with libdnnl-dev), each row of the
// activations (a token, a patch) is quantised on its own range: the layer must give exactly what
// that arithmetic gives, and be no less accurate than libtorch's linear_dynamic, which quantises
// the whole tensor at once. Shapes cover row counts and widths that do not fill a 16-float vector,
// 3-D inputs and a [50, 3072] input with a skewed range. New input ranges at every call are what
// the direct call exists for, so each shape runs on three of them; one input has rows of very
// different ranges, where per-row quantisation matters most.
test("Int8Linear through the addon's own oneDNN call quantises each row, exactly as written out and more accurately than linear_dynamic", { skip: !T.buildInfo().onednnMatmul && "int8 goes through libtorch in this build" }, () => {
  T.tidy(() => {
    for (const [rows, inF, outF, bias] of [[7, 16, 5, true], [3, 37, 11, false], [2 * 50, 768, 96, true], [50, 3072, 64, false]] as const) {
      const w = T.randn([outF, inF], { seed: 21 }).mul(0.05), b = bias ? T.randn([outF], { seed: 22 }) : null;
      using direct = T.Int8Linear.pack(w, b);
      using viaLibtorch = T.Int8Linear.pack(w, b, { viaLibtorch: true });
      const rowScales = T.tensor(Float32Array.from({ length: 2 * rows }, (_, i) => Math.exp(2 * (i % 5))), { shape: [2, rows, 1] }); // 1 to e^8 between rows
      for (const [k, x] of [0, 0.5, 3].map((shift, k) => T.randn([2, rows, inF], { seed: 23 + k }).mul(2).add(shift)).concat([T.randn([2, rows, inF], { seed: 27 }).mul(rowScales)]).entries()) {
        const exact = x.linear(w, b);
        const ours = direct.forward(x), theirs = viaLibtorch.forward(x);
        assert.deepEqual(ours.shape, [2, rows, outF]);
        const reference = T.tensor(perRowInt8Reference(x.toFloat32Array(), 2 * rows, inF, w.toFloat32Array(), outF, b?.toFloat32Array() ?? null), { shape: [2, rows, outF] });
        assert.ok(relativeError(ours, reference) < 1e-5, `${rows}x${inF}x${outF} input ${k}: ours and the written-out arithmetic differ by ${relativeError(ours, reference)}`);
        const oursErr = relativeError(ours, exact), theirsErr = relativeError(theirs, exact);
        assert.ok(oursErr < theirsErr * 1.05 + 1e-6, `${rows}x${inF}x${outF} input ${k}: our error ${oursErr} vs libtorch's ${theirsErr}`);
        if (k === 3) {
          const [oursWorst, theirsWorst] = [worstRowError(ours, exact, outF), worstRowError(theirs, exact, outF)];
          assert.ok(oursWorst < theirsWorst / 10, `rows of different ranges, worst row: our error ${oursWorst} vs libtorch's per-tensor ${theirsWorst}`);
        }
      }
    }
    // Texts come in many lengths: more row counts than a layer keeps primitives for (16).
    const w = T.randn([24, 40], { seed: 31 }), b = T.randn([24], { seed: 32 });
    using direct = T.Int8Linear.pack(w, b);
    for (let rows = 1; rows <= 40; rows += 1 + (rows % 3)) {
      const x = T.randn([rows, 40], { seed: 40 + rows });
      const reference = T.tensor(perRowInt8Reference(x.toFloat32Array(), rows, 40, w.toFloat32Array(), 24, b.toFloat32Array()), { shape: [rows, 24] });
      assert.ok(relativeError(direct.forward(x), reference) < 1e-5, `${rows} rows`);
    }
    using q = T.Int8Linear.pack(T.randn([4, 8], { seed: 1 }), null);
    assert.throws(() => q.forward(T.ones([2, 6])), /input's last dimension is 6, the layer takes 8/);
    assert.deepEqual(q.forward(T.ones([0, 8])).shape, [0, 4], "no rows in, no rows out");
    assert.equal(q.forward(T.zeros([3, 8])).abs().max().item(), 0, "an all-zero input gives zeros (PyTorch's fallback scale)");
  });
});

// Without AVX-512 (or with KOCLIP_AVX512=0) the direct call quantises through a oneDNN reorder
// instead of the addon's kernels: the test above, in a process where they are off.
test("Int8Linear's direct oneDNN call without the AVX-512 kernels", { skip: (!T.buildInfo().onednnMatmul || process.env.KOCLIP_AVX512 === "0") && "not applicable" }, () => {
  const self = new URL(import.meta.url).pathname;
  assert.ok(existsSync(self));
  const { NODE_TEST_CONTEXT: _, ...env } = process.env; // a plain run of the file, not a child of this runner
  const run = spawnSync(process.execPath, ["--test", "--test-reporter", "tap", "--test-name-pattern", "quantises each row", self], { env: { ...env, KOCLIP_AVX512: "0" }, encoding: "utf8" });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /# pass 1/);
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
