import assert from "node:assert/strict";
import { test } from "node:test";
import { activateInPlace, ACTIVATIONS, type Activation } from "../../../src/nn/index.js";
import * as T from "../../../src/torch/index.js";

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
/**
 * erf to ~1e-12: its Taylor series for |z| < 3, beyond that 1 − erfc(z) by erfc's continued
 * fraction (the series cancels catastrophically there). Abramowitz–Stegun 7.1.26 is too coarse
 * for a reference at 1e-6.
 */
function erf(z: number): number {
  const a = Math.abs(z);
  if (a < 3) {
    let term = z, sum = z;
    for (let n = 1; n < 120; n++) {
      term *= -z * z / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let tail = 0;
  for (let n = 80; n >= 1; n--) tail = n / 2 / (a + tail);
  return Math.sign(z) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + tail));
}

const FORMULAS: Record<Activation, (v: number) => number> = {
  gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  gelu_new: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
  gelu_pytorch_tanh: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
  quick_gelu: (v) => v * sigmoid(1.702 * v),
  relu: (v) => Math.max(v, 0),
};
const INPUTS = [-4, -2.5, -1, -0.3, 0, 0.2, 0.9, 1.7, 3.9];

test("activateInPlace: HF's formulas; without autograd the input itself is overwritten", () => {
  for (const act of ACTIVATIONS) {
    T.tidy(() => {
      const x = T.tensor(INPUTS);
      const y = T.noGrad(() => activateInPlace(act, x));
      const got = y.toArray();
      INPUTS.forEach((v, i) => assert.ok(Math.abs(got[i]! - FORMULAS[act](v)) < 2e-6, `${act}(${v}) = ${got[i]}, expected ${FORMULAS[act](v)}`));
      assert.deepEqual(x.toArray(), got, `${act}: x was not updated in place`);
    });
  }
});

test("activateInPlace under autograd leaves its input alone and differentiates like the formula", () => {
  for (const act of ACTIVATIONS) {
    T.tidy(() => {
      const x = T.tensor(INPUTS).requireGrad();
      const y = activateInPlace(act, x);
      assert.deepEqual(x.toArray(), T.tensor(INPUTS).toArray(), `${act} changed a tensor autograd tracks`);
      y.sum().backward();
      const grad = x.grad!.toArray();
      INPUTS.forEach((v, i) => {
        if (act === "relu" && v === 0) return; // the kink: any subgradient will do
        const h = 1e-4;
        const numeric = (FORMULAS[act](v + h) - FORMULAS[act](v - h)) / (2 * h);
        assert.ok(Math.abs(grad[i]! - numeric) < 1e-4, `${act}'(${v}) = ${grad[i]}, expected ${numeric}`);
      });
    });
  }
});

// quick_gelu in place is one vectorised pass on AVX-512 CPUs (cpu_kernels.cc), with its own
// exponential: checked here, with gelu, over the range where both saturate and across a partial
// last vector.
test("activateInPlace quick_gelu and gelu on a long tensor: the formulas to float precision, saturating tails included", () => {
  for (const act of ["quick_gelu", "gelu"] as const) {
    T.tidy(() => {
      const values = Array.from({ length: 1003 }, (_, i) => (i - 501) * 0.12); // -60.1 … 60.1
      const x = T.tensor(values);
      const got = T.noGrad(() => activateInPlace(act, x)).toArray();
      values.forEach((v, i) => {
        const want = FORMULAS[act](v);
        assert.ok(Math.abs(got[i]! - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${act}(${v}) = ${got[i]}, expected ${want}`);
      });
    });
  }
});

test("quickGelu_ on a tensor autograd tracks goes through autograd (the kernel only runs untracked)", () => {
  T.tidy(() => {
    const leaf = T.tensor([0.5, -1, 2]);
    leaf.requiresGrad = true;
    const y = leaf.mul(1).quickGelu_();
    y.sum().backward();
    const s = (v: number) => 1 / (1 + Math.exp(-1.702 * v));
    const grads = leaf.grad!.toArray();
    [0.5, -1, 2].forEach((v, i) => {
      assert.ok(Math.abs(y.detach().toArray()[i]! - FORMULAS.quick_gelu(v)) < 1e-6);
      assert.ok(Math.abs(grads[i]! - (s(v) + 1.702 * v * s(v) * (1 - s(v)))) < 1e-5, `d/dx quick_gelu(${v})`);
    });
  });
});

// On CPUs with AVX-512, gelu (erf) and its backward run the addon's loops (gelu.cc) on float32
// tensors, 16 lanes at a time: a length that leaves a partial vector, both tails of the
// distribution, and gradients against the derivative Φ(x) + x·φ(x).
test("gelu forward and backward on a long tensor match the formula, in every lane and the partial last vector", () => {
  T.tidy(() => {
    const n = 16 * 37 + 5;
    const values = Array.from({ length: n }, (_, i) => -9 + (18 * i) / (n - 1));
    const x = T.tensor(values).requireGrad();
    const gradOut = Array.from({ length: n }, (_, i) => Math.cos(i));
    const y = x.gelu("none");
    y.mul(T.tensor(gradOut)).sum().backward();
    const inPlace = T.noGrad(() => T.tensor(values).gelu_("none")).toArray();
    const [got, grad] = [y.toArray(), x.grad!.toArray()];
    values.forEach((v, i) => {
      const want = FORMULAS.gelu(v);
      const tol = 1e-6 + 1e-6 * Math.abs(v);
      assert.ok(Math.abs(got[i]! - want) < tol, `gelu(${v}) = ${got[i]}, expected ${want}`);
      assert.ok(Math.abs(inPlace[i]! - want) < tol, `gelu_(${v}) = ${inPlace[i]}, expected ${want}`);
      const slope = 0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-v * v / 2)) / Math.sqrt(2 * Math.PI);
      assert.ok(Math.abs(grad[i]! - gradOut[i]! * slope) < 1e-5, `gelu'(${v}) = ${grad[i]! / gradOut[i]!}, expected ${slope}`);
    });
  });
});

// Under bf16 autocast the MLP's hidden state is bfloat16: the same kernels read and write it,
// computing each lane in float32 and rounding to the nearest bfloat16 (ties to even), as
// libtorch's bfloat16 gelu does. Within one bfloat16 step (2^-8 relative) of the formula at the
// rounded input, or 1e-6 absolute (far in the left tail, where 1 + erf rounds to 0 in float32).
test("gelu forward and backward on bfloat16 tensors round the float32 result to bfloat16", () => {
  T.tidy(() => {
    const n = 16 * 5 + 3;
    const x = T.tensor(Array.from({ length: n }, (_, i) => -6 + (12 * i) / (n - 1))).toDtype("bfloat16").requireGrad();
    const gradOut = T.tensor(Array.from({ length: n }, (_, i) => 0.5 + Math.sin(i))).toDtype("bfloat16");
    const y = x.gelu("none");
    assert.equal(y.dtype, "bfloat16");
    y.mul(gradOut).sum().backward();
    const inPlace = T.noGrad(() => x.detach().clone().gelu_("none")).toDtype("float32").toArray();
    const [xs, got, grad, g] = [x.detach().toDtype("float32").toArray(), y.detach().toDtype("float32").toArray(), x.grad!.toDtype("float32").toArray(), gradOut.toDtype("float32").toArray()];
    xs.forEach((v, i) => {
      const want = FORMULAS.gelu(v);
      const step = (w: number) => Math.abs(w) * 2 ** -8 + 1e-6;
      assert.ok(Math.abs(got[i]! - want) <= step(want), `bf16 gelu(${v}) = ${got[i]}, expected ${want}`);
      assert.equal(inPlace[i], got[i], `bf16 gelu_(${v})`);
      const slope = 0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-v * v / 2)) / Math.sqrt(2 * Math.PI);
      assert.ok(Math.abs(grad[i]! - g[i]! * slope) <= step(g[i]! * slope), `bf16 gelu'(${v})·${g[i]} = ${grad[i]}, expected ${g[i]! * slope}`);
    });
  });
});
