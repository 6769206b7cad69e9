// Finite-difference gradient checks in float64 for every differentiable op in gen/ops.mjs.
// A completeness test fails when a new op is added to the list without a check here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import * as T from "../../../src/torch/index.js";
import { REPO_ROOT } from "../../helpers/fixtures.js";
import { mulberry32, uniform } from "../../helpers/random.js";

type Fn = (xs: T.Tensor[]) => T.Tensor;
interface Check {
  shapes: number[][];
  fn: Fn;
  /** keeps inputs away from kinks (|x| > margin) or in a domain (positive) */
  domain?: "any" | "positive" | "away-from-zero";
  /** loose tolerance and step for ops that pass through float32 */
  tol?: number;
  eps?: number;
}

const f64 = (data: Float64Array, shape: number[]) => T.tensor(data, { shape, dtype: "float64" });
const idx = (values: number[], shape = [values.length]) => T.tensor(values, { shape, dtype: "int64" });

function gradcheck(name: string, check: Check, seed: number): void {
  const rng = mulberry32(seed);
  const make = (shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = uniform(rng, n, -1, 1);
    if (check.domain === "positive") for (let i = 0; i < n; i++) d[i] = 0.5 + Math.abs(d[i]!);
    if (check.domain === "away-from-zero") for (let i = 0; i < n; i++) d[i] = Math.sign(d[i]!) * (0.2 + Math.abs(d[i]!));
    return d;
  };
  const datas = check.shapes.map(make);
  T.tidy(() => {
    const inputs = datas.map((d, i) => f64(d, check.shapes[i]!).requireGrad());
    const out = check.fn(inputs);
    const weights = f64(uniform(rng, out.numel, -1, 1), out.shape);
    const lossOf = (xs: T.Tensor[]) => T.tidy(() => check.fn(xs).mul(weights).sum().item());
    out.mul(weights).sum().backward();
    const eps = check.eps ?? 1e-6;
    const tol = check.tol ?? 1e-5;
    inputs.forEach((input, k) => {
      const analytic = input.grad ? Array.from(input.grad.toTypedArray() as Float64Array) : new Array(datas[k]!.length).fill(0);
      for (let i = 0; i < datas[k]!.length; i++) {
        const numeric = T.noGrad(() => {
          const at = (delta: number) => {
            const d = datas[k]!.slice();
            d[i]! += delta;
            const xs = datas.map((dd, j) => (j === k ? f64(d, check.shapes[j]!) : f64(dd, check.shapes[j]!)));
            return lossOf(xs);
          };
          return (at(eps) - at(-eps)) / (2 * eps);
        });
        const a = analytic[i]!;
        assert.ok(Math.abs(a - numeric) <= tol + 1e-3 * Math.abs(numeric), `${name}: input ${k} element ${i}: analytic ${a} vs numeric ${numeric}`);
      }
    });
  });
}

const mask23 = () => T.tensor([1, 0, 1, 0, 0, 1], { shape: [2, 3], dtype: "bool" });

const CHECKS: Record<string, Check> = {
  reshape: { shapes: [[2, 3]], fn: ([x]) => x!.reshape([3, 2]) },
  view: { shapes: [[2, 3]], fn: ([x]) => x!.view([6]) },
  permute: { shapes: [[2, 3, 2]], fn: ([x]) => x!.permute([2, 0, 1]) },
  transpose: { shapes: [[2, 3]], fn: ([x]) => x!.transpose(0, 1) },
  t: { shapes: [[2, 3]], fn: ([x]) => x!.t() },
  narrow: { shapes: [[4, 3]], fn: ([x]) => x!.narrow(0, 1, 2) },
  slice: { shapes: [[5, 2]], fn: ([x]) => x!.slice(0, 1, 5, 2) },
  select: { shapes: [[3, 2]], fn: ([x]) => x!.select(0, 1) },
  index_select: { shapes: [[4, 2]], fn: ([x]) => x!.indexSelect(0, idx([3, 0, 3])) },
  gather: { shapes: [[2, 3]], fn: ([x]) => x!.gather(1, idx([2, 0, 1, 1], [2, 2])) },
  scatter: { shapes: [[2, 3], [2, 3]], fn: ([x, s]) => x!.scatter(1, idx([2, 0, 1, 0], [2, 2]), s!.narrow(1, 0, 2)) },
  cat: { shapes: [[2, 2], [1, 2]], fn: ([a, b]) => T.cat([a!, b!], 0) },
  stack: { shapes: [[2, 2], [2, 2]], fn: ([a, b]) => T.stack([a!, b!], 1) },
  chunk: { shapes: [[4, 2]], fn: ([x]) => x!.chunk(2, 0)[1]! },
  split: { shapes: [[5, 2]], fn: ([x]) => x!.split(2, 0)[2]! },
  expand: { shapes: [[1, 3]], fn: ([x]) => x!.expand([2, 3]) },
  repeat: { shapes: [[2]], fn: ([x]) => x!.repeat([2, 2]) },
  contiguous: { shapes: [[2, 3]], fn: ([x]) => x!.t().contiguous() },
  unsqueeze: { shapes: [[3]], fn: ([x]) => x!.unsqueeze(0) },
  squeeze: { shapes: [[3, 1]], fn: ([x]) => x!.squeeze(1) },
  flatten: { shapes: [[2, 2, 2]], fn: ([x]) => x!.flatten(1) },
  flip: { shapes: [[2, 3]], fn: ([x]) => x!.flip([1]) },
  tril: { shapes: [[3, 3]], fn: ([x]) => x!.tril() },
  triu: { shapes: [[3, 3]], fn: ([x]) => x!.triu(1) },
  pad: { shapes: [[2, 2]], fn: ([x]) => x!.pad([1, 2], 0.5) },
  clone: { shapes: [[3]], fn: ([x]) => x!.clone() },
  to_dtype: { shapes: [[3]], fn: ([x]) => x!.toDtype("float32").mul(3).toDtype("float64"), tol: 1e-3, eps: 1e-2 },
  add: { shapes: [[2, 3], [3]], fn: ([a, b]) => a!.add(b!, 2).add(0.5) },
  sub: { shapes: [[2, 3], [2, 3]], fn: ([a, b]) => a!.sub(b!, 3).sub(1.5) },
  mul: { shapes: [[2, 3], [2, 1]], fn: ([a, b]) => a!.mul(b!).mul(2.5) },
  div: { shapes: [[2, 3], [2, 3]], fn: ([a, b]) => a!.div(b!).div(3), domain: "away-from-zero" },
  pow: { shapes: [[3], [3]], fn: ([a, b]) => a!.pow(b!).add(a!.pow(3)), domain: "positive" },
  neg: { shapes: [[3]], fn: ([x]) => x!.neg() },
  abs: { shapes: [[4]], fn: ([x]) => x!.abs(), domain: "away-from-zero" },
  sqrt: { shapes: [[4]], fn: ([x]) => x!.sqrt(), domain: "positive" },
  rsqrt: { shapes: [[4]], fn: ([x]) => x!.rsqrt(), domain: "positive" },
  square: { shapes: [[4]], fn: ([x]) => x!.square() },
  reciprocal: { shapes: [[4]], fn: ([x]) => x!.reciprocal(), domain: "away-from-zero" },
  exp: { shapes: [[4]], fn: ([x]) => x!.exp() },
  log: { shapes: [[4]], fn: ([x]) => x!.log(), domain: "positive" },
  log1p: { shapes: [[4]], fn: ([x]) => x!.log1p(), domain: "positive" },
  tanh: { shapes: [[4]], fn: ([x]) => x!.tanh() },
  erf: { shapes: [[4]], fn: ([x]) => x!.erf() },
  sigmoid: { shapes: [[4]], fn: ([x]) => x!.sigmoid() },
  silu: { shapes: [[5]], fn: ([x]) => x!.silu() },
  relu: { shapes: [[4]], fn: ([x]) => x!.relu(), domain: "away-from-zero" },
  gelu: { shapes: [[5]], fn: ([x]) => x!.gelu("none").add(x!.gelu("tanh")) },
  sin: { shapes: [[4]], fn: ([x]) => x!.sin() },
  cos: { shapes: [[4]], fn: ([x]) => x!.cos() },
  clamp: { shapes: [[6]], fn: ([x]) => x!.mul(3).clamp(-1.1, 0.9) },
  maximum: { shapes: [[4], [4]], fn: ([a, b]) => a!.maximum(b!) },
  minimum: { shapes: [[4], [4]], fn: ([a, b]) => a!.minimum(b!) },
  where: { shapes: [[2, 3], [2, 3]], fn: ([a, b]) => T.where(mask23(), a!, b!).add(T.where(mask23(), a!, 0.5)) },
  masked_fill: { shapes: [[2, 3]], fn: ([x]) => x!.maskedFill(mask23(), -2) },
  sum: { shapes: [[2, 3]], fn: ([x]) => x!.sum() },
  sum_dim: { shapes: [[2, 3]], fn: ([x]) => x!.sumDim([1], true) },
  mean: { shapes: [[2, 3]], fn: ([x]) => x!.mean() },
  mean_dim: { shapes: [[2, 3]], fn: ([x]) => x!.meanDim([0]) },
  max: { shapes: [[5]], fn: ([x]) => x!.max() },
  max_dim: { shapes: [[2, 3]], fn: ([x]) => x!.maxDim(1)[0] },
  min: { shapes: [[5]], fn: ([x]) => x!.min() },
  min_dim: { shapes: [[2, 3]], fn: ([x]) => x!.minDim(0, true)[0] },
  logsumexp: { shapes: [[2, 3]], fn: ([x]) => x!.logsumexp([1]) },
  norm: { shapes: [[2, 3]], fn: ([x]) => x!.norm(2, [1], true).add(x!.norm(2)) },
  topk: { shapes: [[6]], fn: ([x]) => x!.topk(3)[0] },
  cumsum: { shapes: [[2, 3]], fn: ([x]) => x!.cumsum(1) },
  matmul: { shapes: [[2, 3, 4], [4, 2]], fn: ([a, b]) => a!.matmul(b!) },
  mm: { shapes: [[2, 3], [3, 2]], fn: ([a, b]) => a!.mm(b!) },
  bmm: { shapes: [[2, 2, 3], [2, 3, 2]], fn: ([a, b]) => a!.bmm(b!) },
  linear: { shapes: [[2, 3], [4, 3], [4]], fn: ([x, w, b]) => x!.linear(w!, b!) },
  conv2d: { shapes: [[1, 2, 4, 4], [3, 2, 2, 2], [3]], fn: ([x, w, b]) => x!.conv2d(w!, b!, [2, 2]) },
  layer_norm: { shapes: [[2, 4], [4], [4]], fn: ([x, w, b]) => x!.layerNorm([4], w!, b!, 1e-5) },
  softmax: { shapes: [[2, 3]], fn: ([x]) => x!.softmax(-1) },
  log_softmax: { shapes: [[2, 3]], fn: ([x]) => x!.logSoftmax(0) },
  dropout: { shapes: [[4]], fn: ([x]) => x!.dropout(0.5, false) },
  embedding: { shapes: [[5, 3]], fn: ([w]) => w!.embedding(idx([4, 0, 4, 2])) },
  cross_entropy: { shapes: [[3, 4]], fn: ([x]) => x!.crossEntropy(idx([1, 3, 0]), null, 1, -100, 0.1) },
  scaled_dot_product_attention: {
    shapes: [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]],
    fn: ([q, k, v]) => {
      const keyMask = T.tensor([1, 1, 0], { shape: [1, 1, 1, 3], dtype: "bool" });
      return T.scaledDotProductAttention(q!, k!, v!, keyMask).add(T.scaledDotProductAttention(q!, k!, v!, null, 0, true));
    },
  },
};

// Ops with no gradient to check: creation, comparisons, integer results, in-place updates
// (run under noGrad by optimizers; the in-place activations only on tensors autograd does not
// track), scalar outputs, and piecewise-constant functions.
const NOT_DIFFERENTIABLE = new Set([
  "detach", "one_hot", "zeros", "ones", "full", "arange", "eye", "zeros_like", "ones_like", "floor", "round",
  "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and", "logical_or", "isfinite", "argmax", "argsort",
  "all", "any", "add_", "sub_", "mul_", "div_", "addcmul_", "addcdiv_", "lerp_", "clamp_", "copy_", "zero_",
  "fill_", "normal_", "uniform_", "silu_", "quick_gelu_", "gelu_", "relu_", "item", "allclose",
]);

test("every op in gen/ops.mjs is gradient-checked or listed as not differentiable", async () => {
  const { OPS } = (await import(pathToFileURL(join(REPO_ROOT, "gen", "ops.mjs")).href)) as { OPS: string[] };
  const names = OPS.map((line) => line.slice(0, line.indexOf("(")));
  const unchecked = names.filter((n) => !(n in CHECKS) && !NOT_DIFFERENTIABLE.has(n));
  assert.deepEqual(unchecked, [], "ops without a gradient check");
  const stale = Object.keys(CHECKS).filter((n) => !names.includes(n));
  assert.deepEqual(stale, [], "checks for ops no longer in the list");
});

let seed = 1;
for (const [name, check] of Object.entries(CHECKS)) {
  const s = seed++;
  test(`gradcheck ${name}`, () => gradcheck(name, check, s));
}

test("no tensors leak from the gradient checks", () => {
  // Every check ran inside tidy: only tensors held by module-level code may remain.
  assert.ok(T.liveTensors() < 5, `live tensors: ${T.liveTensors()}`);
});
