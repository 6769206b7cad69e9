// Optimizers against references computed independently in plain JS (float64 loops, no libtorch),
// and AdamW against the Hugging Face fixture's first step.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { readSafetensors } from "../../../src/formats/index.js";
import { tensorFromRaw } from "../../../src/nn/index.js";
import { AdamW, SGD, clipGradNorm, cosineLr, decayGroups } from "../../../src/optim/index.js";
import * as T from "../../../src/torch/index.js";
import { fixture } from "../../helpers/fixtures.js";
import { mulberry32, uniform } from "../../helpers/random.js";

interface Hyper { lr: number; betas: [number, number]; eps: number; weight_decay: number }
const golden = JSON.parse(readFileSync(fixture("koclip-tiny", "golden.json"), "utf8")) as { optimizer: Hyper };
const H = golden.optimizer;

// A linear model y = W x + b with squared loss, its gradient and AdamW all written out by hand.
function referenceRun(W: Float64Array, b: Float64Array, X: Float64Array, Y: Float64Array, dims: { n: number; i: number; o: number }, steps: number) {
  const { n, i: inD, o: outD } = dims;
  const m = { W: new Float64Array(W.length), b: new Float64Array(b.length) };
  const v = { W: new Float64Array(W.length), b: new Float64Array(b.length) };
  const losses: number[] = [];
  for (let step = 1; step <= steps; step++) {
    const gW = new Float64Array(W.length), gb = new Float64Array(b.length);
    let loss = 0;
    for (let r = 0; r < n; r++) {
      for (let o = 0; o < outD; o++) {
        let y = b[o]!;
        for (let k = 0; k < inD; k++) y += W[o * inD + k]! * X[r * inD + k]!;
        const diff = y - Y[r * outD + o]!;
        loss += (diff * diff) / (n * outD);
        const g = (2 * diff) / (n * outD);
        gb[o]! += g;
        for (let k = 0; k < inD; k++) gW[o * inD + k]! += g * X[r * inD + k]!;
      }
    }
    losses.push(loss);
    const [b1, b2] = H.betas;
    for (const [p, g, mm, vv] of [[W, gW, m.W, v.W], [b, gb, m.b, v.b]] as const) {
      for (let j = 0; j < p.length; j++) {
        p[j]! *= 1 - H.lr * H.weight_decay;
        mm[j] = b1 * mm[j]! + (1 - b1) * g[j]!;
        vv[j] = b2 * vv[j]! + (1 - b2) * g[j]! * g[j]!;
        const mHat = mm[j]! / (1 - b1 ** step);
        const vHat = vv[j]! / (1 - b2 ** step);
        p[j]! -= (H.lr * mHat) / (Math.sqrt(vHat) + H.eps);
      }
    }
  }
  return losses;
}

test("AdamW with the fixture's hyper-parameters matches a hand-written float64 reference over 20 steps", () => {
  const rng = mulberry32(7);
  const dims = { n: 8, i: 5, o: 3 };
  const W0 = uniform(rng, dims.o * dims.i), b0 = uniform(rng, dims.o);
  const X = uniform(rng, dims.n * dims.i), Y = uniform(rng, dims.n * dims.o);
  const refW = W0.slice(), refB = b0.slice();
  const refLosses = referenceRun(refW, refB, X, Y, dims, 20);

  const W = T.tensor(W0.slice(), { shape: [dims.o, dims.i], dtype: "float64" }).requireGrad();
  const b = T.tensor(b0.slice(), { shape: [dims.o], dtype: "float64" }).requireGrad();
  const x = T.tensor(X, { shape: [dims.n, dims.i], dtype: "float64" });
  const y = T.tensor(Y, { shape: [dims.n, dims.o], dtype: "float64" });
  const opt = new AdamW([W, b], { lr: H.lr, betas: H.betas, eps: H.eps, weightDecay: H.weight_decay });
  for (let step = 0; step < 20; step++) {
    const loss = T.tidy(() => {
      const l = x.linear(W, b).sub(y).square().mean();
      l.backward();
      return l.item();
    });
    assert.ok(Math.abs(loss - refLosses[step]!) < 1e-12, `loss at step ${step}`);
    opt.step();
    opt.zeroGrad();
  }
  const gotW = W.toTypedArray() as Float64Array;
  for (let j = 0; j < refW.length; j++) assert.ok(Math.abs(gotW[j]! - refW[j]!) < 1e-12, `W[${j}]`);
  const gotB = b.toTypedArray() as Float64Array;
  for (let j = 0; j < refB.length; j++) assert.ok(Math.abs(gotB[j]! - refB[j]!) < 1e-12, `b[${j}]`);
  opt.dispose();
  T.disposeAll([W, b, x, y]);
});

test("one AdamW step from zero state reproduces the koclip-tiny fixture's step1 parameters (≤ 1e-6)", () => {
  const params = readSafetensors(fixture("koclip-tiny", "model", "model.safetensors"));
  const gold = readSafetensors(fixture("koclip-tiny", "golden.safetensors"));
  const named = new Map<string, T.Tensor>();
  for (const [name, raw] of params) {
    if (!gold.has(`grad.${name}`)) continue; // buffers (position_ids) have no gradient
    const p = tensorFromRaw(raw).requireGrad();
    p.grad = tensorFromRaw(gold.get(`grad.${name}`)!);
    named.set(name, p);
  }
  assert.ok(named.size > 20, `found ${named.size} parameters with gradients`);
  // The fixture applies weight decay to every parameter (see shared/README.md).
  const opt = new AdamW([...named.values()], { lr: H.lr, betas: H.betas, eps: H.eps, weightDecay: H.weight_decay });
  opt.step();
  let worst = 0;
  for (const [name, p] of named) {
    const expected = T.tidy(() => tensorFromRaw(gold.get(`step1.${name}`)!).toFloat32Array());
    const got = p.toFloat32Array();
    for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j]! - expected[j]!));
  }
  assert.ok(worst <= 1e-6, `max abs diff ${worst}`);
  opt.dispose();
  T.disposeAll([...named.values()]);
});

test("SGD with momentum matches the PyTorch update rule", () => {
  const p = T.tensor([1, -2], { dtype: "float64" }).requireGrad();
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  const ref = [1, -2], buf = [0, 0];
  for (let step = 0; step < 3; step++) {
    T.tidy(() => p.square().sum().backward());
    opt.step();
    opt.zeroGrad();
    for (let j = 0; j < 2; j++) {
      const d = 2 * ref[j]! + 0.01 * ref[j]!;
      buf[j] = step === 0 ? d : 0.9 * buf[j]! + d;
      ref[j]! -= 0.1 * buf[j]!;
    }
  }
  const got = p.toArray();
  for (let j = 0; j < 2; j++) assert.ok(Math.abs(got[j]! - ref[j]!) < 1e-12);
  opt.dispose();
  p.dispose();
});

test("clipGradNorm scales to the max norm and returns the norm before clipping", () => {
  T.tidy(() => {
    const a = T.tensor([0, 0]).requireGrad();
    const b = T.tensor([0]).requireGrad();
    a.grad = T.tensor([3, 0]);
    b.grad = T.tensor([4]);
    assert.ok(Math.abs(clipGradNorm([a, b], 1) - 5) < 1e-6);
    const after = [...a.grad!.toArray(), ...b.grad!.toArray()];
    assert.ok(Math.abs(Math.hypot(...after) - 1) < 1e-5);
    assert.ok(Math.abs(clipGradNorm([a, b], 10) - 1) < 1e-5); // under the limit: unchanged
  });
});

test("cosineLr warms up linearly, decays by cosine and floors at the end", () => {
  const s = { baseLr: 1e-3, warmupSteps: 10, totalSteps: 110, minLr: 1e-5 };
  assert.ok(Math.abs(cosineLr(0, s) - 1e-4) < 1e-12);
  assert.ok(Math.abs(cosineLr(9, s) - 1e-3) < 1e-12);
  assert.ok(Math.abs(cosineLr(60, s) - (1e-5 + 0.5 * (1e-3 - 1e-5))) < 1e-12);
  assert.equal(cosineLr(500, s), 1e-5);
});

test("decayGroups exempts biases, norms and the logit scale", () => {
  T.tidy(() => {
    const named = new Map([
      ["enc.dense.weight", T.zeros([2, 2]).requireGrad()],
      ["enc.dense.bias", T.zeros([2]).requireGrad()],
      ["enc.LayerNorm.weight", T.zeros([2]).requireGrad()],
      ["logit_scale", T.zeros([]).requireGrad()],
    ]);
    const groups = decayGroups(named, 0.1);
    assert.deepEqual(groups.map((g) => [g.weightDecay, g.names]), [
      [0.1, ["enc.dense.weight"]],
      [0, ["enc.dense.bias", "enc.LayerNorm.weight", "logit_scale"]],
    ]);
  });
});
