import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { keyPaddingMask, mergeHeads, multiHeadAttention, splitHeads } from "../../../src/nn/index.js";
import * as T from "../../../src/torch/index.js";

/** softmax(q kᵀ · scale + mask) v for one [T, D] head, in plain numbers; mask(i, j) is added (-Infinity: masked). */
function naiveHead(q: number[][], k: number[][], v: number[][], mask: (i: number, j: number) => number, scale: number): number[][] {
  return q.map((qi, i) => {
    const scores = k.map((kj, j) => qi.reduce((s, x, d) => s + x * kj[d]!, 0) * scale + mask(i, j));
    const max = Math.max(...scores);
    const e = scores.map((s) => Math.exp(s - max));
    const z = e.reduce((a, b) => a + b, 0);
    return v[0]!.map((_, d) => e.reduce((s, w, j) => s + (w / z) * v[j]![d]!, 0));
  });
}

function rows(t: T.Tensor): number[][][][] {
  const [b, h, n, d] = t.shape as [number, number, number, number];
  const flat = t.toArray();
  return Array.from({ length: b }, (_, bi) => Array.from({ length: h }, (_, hi) =>
    Array.from({ length: n }, (_, ni) => flat.slice(((bi * h + hi) * n + ni) * d, ((bi * h + hi) * n + ni + 1) * d))));
}

function maxDiff(a: number[], b: number[]): number {
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

// Inference (no autograd) takes a separate route on Debian's libtorch 1.13 (composite.h: each head's
// products straight to BLAS, heads in parallel); these check it against the maths and against the
// batched route autograd uses.
test("attention without autograd: padding masks, causal masks and unequal lengths give the formula's values", () => {
  T.tidy(() => {
    const heads = 3, d = 8, tq = 5, tk = 7;
    const q = T.randn([2, tq, heads * d], { seed: 1 }), k = T.randn([2, tk, heads * d], { seed: 2 }), v = T.randn([2, tk, heads * d], { seed: 3 });
    const lengths = [7, 4];
    const mask = keyPaddingMask(T.tensor(lengths.flatMap((n) => Array.from({ length: tk }, (_, j) => (j < n ? 1 : 0))), { shape: [2, tk], dtype: "int64" }));
    const cases: [string, () => T.Tensor, (b: number) => (i: number, j: number) => boolean][] = [
      ["padding mask", () => multiHeadAttention(q, k, v, heads, { mask }), (b) => (_i, j) => j < lengths[b]!],
      ["causal", () => multiHeadAttention(q, k, v, heads, { causal: true }), () => (i, j) => j <= i],
      ["no mask", () => multiHeadAttention(q, k, v, heads), () => () => true],
    ];
    const [qh, kh, vh] = [rows(splitHeads(q, heads)), rows(splitHeads(k, heads)), rows(splitHeads(v, heads))];
    for (const [name, run, allowed] of cases) {
      const got = rows(splitHeads(T.noGrad(run), heads));
      for (let b = 0; b < 2; b++) {
        for (let h = 0; h < heads; h++) {
          const want = naiveHead(qh[b]![h]!, kh[b]![h]!, vh[b]![h]!, (i, j) => (allowed(b)(i, j) ? 0 : -Infinity), 1 / Math.sqrt(d));
          assert.ok(maxDiff(got[b]![h]!.flat(), want.flat()) < 1e-5, `${name}: batch ${b} head ${h}`);
        }
      }
    }
  });
});

test("attention: the inference route and autograd's batched route agree on ViT-sized heads, additive masks and autocast", () => {
  T.tidy(() => {
    const q = T.randn([4, 50, 96], { seed: 4 }), k = T.randn([4, 50, 96], { seed: 5 }), v = T.randn([4, 50, 96], { seed: 6 });
    const additive = T.randn([4, 1, 50, 50], { seed: 7 });
    const sdpa = (mask: T.Tensor | null) => mergeHeads(T.scaledDotProductAttention(splitHeads(q, 2), splitHeads(k, 2), splitHeads(v, 2), mask));
    for (const mask of [null, additive]) {
      const inference = T.noGrad(() => sdpa(mask)).toArray();
      const inferenceAutocast = T.noGrad(() => T.autocast("cpu", () => sdpa(mask))).toFloat32Array();
      q.requiresGrad = true; // the batched route
      const batched = sdpa(mask).detach().toArray();
      q.requiresGrad = false;
      assert.ok(maxDiff(inference, batched) < 1e-5, `mask ${mask ? "additive" : "none"}`);
      // Under autocast the batched route may compute in bfloat16; either way within bf16's error.
      assert.ok(maxDiff(Array.from(inferenceAutocast), batched) < 5e-2);
    }
  });
});

test("attention without autograd: a single query whose row stride is smaller than its width (a transposed [D, 1] view)", () => {
  T.tidy(() => {
    const d = 8;
    const q = T.randn([2, 3, d, 1], { seed: 8 }).transpose(2, 3); // [2, 3, 1, 8], stride(2) = 1
    const k = T.randn([2, 3, 5, d], { seed: 9 }), v = T.randn([2, 3, 5, d], { seed: 10 });
    const got = rows(T.noGrad(() => T.scaledDotProductAttention(q, k, v)));
    const [qh, kh, vh] = [rows(q.contiguous()), rows(k), rows(v)];
    for (let b = 0; b < 2; b++) {
      for (let h = 0; h < 3; h++) {
        const want = naiveHead(qh[b]![h]!, kh[b]![h]!, vh[b]![h]!, () => 0, 1 / Math.sqrt(d));
        assert.ok(maxDiff(got[b]![h]!.flat(), want.flat()) < 1e-5, `batch ${b} head ${h}`);
      }
    }
  });
});

// On CPUs with AVX-512 the inference route is the addon's one-pass kernel (cpu_kernels.cc) for
// heads whose value width is a multiple of 16 and up to 128 keys: every mask kind, key counts
// that do not fill a 16-key block, a head width that does not fill a 16-float tile, and the
// causal mask crossing block boundaries.
test("attention without autograd, the AVX-512 route's shapes: masks, partial key blocks and partial tiles give the formula's values", () => {
  const hasAvx512 = readFileSync("/proc/cpuinfo", "utf8").includes(" avx512f");
  assert.equal(T.buildInfo().avx512Kernels, hasAvx512 && process.env.KOCLIP_AVX512 !== "0", "the kernels are on exactly where the CPU has them");
  T.tidy(() => {
    for (const [heads, d, dv, tq, tk] of [[2, 64, 64, 50, 50], [1, 20, 16, 7, 33], [1, 8, 80, 3, 128], [2, 16, 32, 17, 17], [1, 16, 16, 4, 129]] as const) {
      const q = T.randn([2, heads, tq, d], { seed: 11 }), k = T.randn([2, heads, tk, d], { seed: 12 }), v = T.randn([2, heads, tk, dv], { seed: 13 });
      const allowedKeys = T.rand([2, 1, 1, tk], { seed: 14 }).gt(0.3);
      const additive = T.randn([2, 1, tq, tk], { seed: 15 });
      const allowedList = allowedKeys.toArray(), additiveList = additive.toArray();
      const cases: [string, T.Tensor | null, boolean, (b: number, i: number, j: number) => number][] = [
        ["no mask", null, false, () => 0],
        ["boolean key mask", allowedKeys, false, (b, _i, j) => (allowedList[b * tk + j] ? 0 : -Infinity)],
        ["additive mask", additive, false, (b, i, j) => additiveList[(b * tq + i) * tk + j]!],
        ["causal", null, tq === tk, (_b, i, j) => (tq !== tk || j <= i ? 0 : -Infinity)],
      ];
      const [qh, kh, vh] = [rows(q), rows(k), rows(v)];
      for (const [name, mask, causal, bias] of cases) {
        const got = rows(T.noGrad(() => T.scaledDotProductAttention(q, k, v, mask, 0, causal)));
        for (let b = 0; b < 2; b++) {
          for (let h = 0; h < heads; h++) {
            const want = naiveHead(qh[b]![h]!, kh[b]![h]!, vh[b]![h]!, (i, j) => bias(b, i, j), 1 / Math.sqrt(d));
            assert.ok(maxDiff(got[b]![h]!.flat(), want.flat()) < 1e-5, `[${heads}, ${d}, ${dv}, ${tq}, ${tk}] ${name}: batch ${b} head ${h}`);
          }
        }
      }
    }
  });
});

// In the models, queries, keys and values are column slices of one projection ([B, T, 3·H·D]), so
// each head's rows lie 3·H·D floats apart; the kernel packs a head's values before rereading them.
test("attention without autograd: heads sliced from one fused projection give the formula's values", () => {
  T.tidy(() => {
    const heads = 2, d = 64, t = 50;
    const [q, k, v] = T.randn([2, t, 3 * heads * d], { seed: 16 }).chunk(3, -1).map((x) => splitHeads(x, heads)) as [T.Tensor, T.Tensor, T.Tensor];
    const got = rows(T.noGrad(() => T.scaledDotProductAttention(q, k, v)));
    const [qh, kh, vh] = [rows(q.contiguous()), rows(k.contiguous()), rows(v.contiguous())];
    for (let b = 0; b < 2; b++) {
      for (let h = 0; h < heads; h++) {
        const want = naiveHead(qh[b]![h]!, kh[b]![h]!, vh[b]![h]!, () => 0, 1 / Math.sqrt(d));
        assert.ok(maxDiff(got[b]![h]!.flat(), want.flat()) < 1e-5, `batch ${b} head ${h}`);
      }
    }
  });
});

// With autograd, Debian's libtorch 1.13 takes the addon's training route (training_attention.cc:
// each head's products to BLAS from a parallel loop, the softmax and its backward in AVX-512
// passes). Its output and its gradients in q, k and v must be those of attention composed from
// libtorch's own differentiable ops, on shapes that fill no vector or 16-key block, every mask
// kind, and heads sliced from one fused projection (rows 3·H·D floats apart).
test("attention with autograd: output and q/k/v gradients match attention composed from libtorch ops", () => {
  const hasAvx512 = readFileSync("/proc/cpuinfo", "utf8").includes(" avx512f");
  const debian = T.buildInfo().torchVersion.startsWith("1.");
  assert.equal(T.buildInfo().trainingAttention, hasAvx512 && debian && process.env.KOCLIP_AVX512 !== "0", "the training route is on exactly where its kernels can run");
  const composed = (q: T.Tensor, k: T.Tensor, v: T.Tensor, mask: T.Tensor | null, causal: boolean) => {
    let scores = q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(q.size(-1)));
    if (mask?.dtype === "bool") scores = scores.maskedFill(mask.logicalNot(), -Infinity);
    else if (mask) scores = scores.add(mask);
    if (causal) scores = scores.maskedFill(T.ones([q.size(2), k.size(2)], "bool").triu(1), -Infinity);
    return scores.softmax(-1).matmul(v);
  };
  T.tidy(() => {
    for (const [batch, heads, tq, tk, d, dv] of [[2, 3, 65, 65, 64, 64], [2, 1, 7, 19, 5, 3], [1, 2, 17, 33, 24, 40], [3, 2, 1, 1, 8, 8]] as const) {
      // q, k and v as column slices of one [B, T, ·] projection, as the models make them.
      const qProj = T.randn([batch, tq, heads * d + 7], { seed: 31 }), kvProj = T.randn([batch, tk, heads * (d + dv)], { seed: 32 });
      for (const leaf of [qProj, kvProj]) leaf.requiresGrad = true;
      const q = qProj.narrow(-1, 0, heads * d).view([batch, tq, heads, d]).transpose(1, 2);
      const k = kvProj.narrow(-1, 0, heads * d).view([batch, tk, heads, d]).transpose(1, 2);
      const v = kvProj.narrow(-1, heads * d, heads * dv).view([batch, tk, heads, dv]).transpose(1, 2);
      const allowed = T.rand([batch, 1, 1, tk], { seed: 33 }).gt(0.3).logicalOr(T.arange(0, tk).eq(0).view([1, 1, 1, tk])); // key 0 always allowed
      const additive = T.randn([batch, 1, tq, tk], { seed: 34 });
      const gradOut = T.randn([batch, heads, tq, dv], { seed: 35 });
      for (const [name, mask, causal] of [["no mask", null, false], ["boolean key mask", allowed, false], ["additive mask", additive, false], ["causal", null, tq === tk]] as const) {
        const run = (attend: () => T.Tensor) => {
          const out = attend();
          out.mul(gradOut).sum().backward();
          const grads = [qProj.grad!, kvProj.grad!];
          qProj.clearGrad();
          kvProj.clearGrad();
          return { out: out.detach(), grads };
        };
        const ours = run(() => T.scaledDotProductAttention(q, k, v, mask, 0, causal));
        const reference = run(() => composed(q, k, v, mask, causal));
        const label = `[${batch}, ${heads}, ${tq}, ${tk}, ${d}, ${dv}] ${name}`;
        assert.ok(maxDiff(ours.out.toArray(), reference.out.toArray()) < 1e-5, `${label}: output`);
        for (const [i, which] of ["q", "k and v"].entries()) {
          assert.ok(maxDiff(ours.grads[i]!.toArray(), reference.grads[i]!.toArray()) < 1e-4, `${label}: gradient of ${which}`);
        }
      }
    }
  });
});
