import assert from "node:assert/strict";
import { test } from "node:test";
import { activateInPlace, ACTIVATIONS, type Activation } from "../../../src/nn/index.js";
import * as T from "../../../src/torch/index.js";

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
/** Abramowitz–Stegun 7.1.26 is too coarse at 1e-6; erf by its Taylor series instead (|v| ≤ 4 here). */
function erf(v: number): number {
  let term = v, sum = v;
  for (let n = 1; n < 120; n++) {
    term *= -v * v / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
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

// quick_gelu's in-place form is one vectorised pass on AVX-512 CPUs (cpu_kernels.cc): its own
// exponential, checked here over the range where σ saturates and across a partial last vector.
test("activateInPlace quick_gelu on a long tensor: x·σ(1.702x) to float precision, saturating tails included", () => {
  T.tidy(() => {
    const values = Array.from({ length: 1003 }, (_, i) => (i - 501) * 0.12); // -60.1 … 60.1
    const x = T.tensor(values);
    const got = T.noGrad(() => activateInPlace("quick_gelu", x)).toArray();
    values.forEach((v, i) => {
      const want = FORMULAS.quick_gelu(v);
      assert.ok(Math.abs(got[i]! - want) <= 1e-6 * Math.max(1, Math.abs(want)), `quick_gelu(${v}) = ${got[i]}, expected ${want}`);
    });
  });
});

test("quickGelu_ refuses a tensor autograd tracks (it writes the data directly)", () => {
  T.tidy(() => {
    const x = T.tensor([0.5, -1]).mul(1);
    const leaf = T.tensor([0.5, -1]);
    leaf.requiresGrad = true;
    const tracked = leaf.mul(2);
    assert.throws(() => tracked.quickGelu_(), /quick_gelu_: the tensor requires grad/);
    assert.deepEqual(tracked.detach().toArray(), [1, -2], "the refused call changed nothing");
    assert.ok(Math.abs(x.quickGelu_().toArray()[0]! - FORMULAS.quick_gelu(0.5)) < 1e-6);
  });
});
