// Float32 linear layers: where the addon calls oneDNN itself (Debian's libtorch with libdnnl-dev,
// onednn_linear.cc), x·Wᵀ + b and its gradients run on oneDNN's matmul instead of libtorch's
// OpenBLAS route. Both must give x·Wᵀ + b as libtorch's own matmul composes it, forward and
// backward, on shapes that fill no vector, 1-D/2-D/3-D inputs, inputs whose rows are not
// contiguous, no bias, and only some operands requiring gradients.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../../src/torch/index.js";

const maxDiff = (a: T.Tensor, b: T.Tensor) => T.tidy(() => a.sub(b).abs().max().item());

test("linear: output and gradients of x, W and b match x·Wᵀ + b composed from libtorch's matmul", () => {
  T.tidy(() => {
    // [leading dimensions of x], in, out
    for (const [lead, inF, outF] of [[[], 16, 5], [[3], 37, 11], [[4, 65], 192, 768], [[2, 3], 768, 3], [[1], 1, 1]] as const) {
      for (const bias of [true, false]) {
        for (const trained of [["x", "w", "b"], ["w", "b"], ["x"]]) {
          const x = T.randn([...lead, inF], { seed: 41 });
          const w = T.randn([outF, inF], { seed: 42 }).mul(0.1), b = bias ? T.randn([outF], { seed: 43 }) : null;
          const leaves = { x, w, b };
          for (const name of trained) if (leaves[name as keyof typeof leaves]) leaves[name as keyof typeof leaves]!.requiresGrad = true;
          const gradOut = T.randn([...lead, outF], { seed: 44 });
          const run = (forward: () => T.Tensor) => {
            const y = forward();
            y.mul(gradOut).sum().backward();
            const grads = Object.fromEntries(Object.entries(leaves).filter(([, t]) => t?.requiresGrad).map(([name, t]) => {
              const g = t!.grad!;
              t!.clearGrad();
              return [name, g];
            }));
            return { y: y.detach(), grads };
          };
          const ours = run(() => x.linear(w, b));
          const composed = run(() => (b ? x.matmul(w.t()).add(b) : x.matmul(w.t())));
          const label = `[${[...lead, inF]}]·[${outF}, ${inF}]ᵀ${bias ? " + b" : ""}, grads of ${trained.join(", ")}`;
          assert.deepEqual(ours.y.shape, [...lead, outF], label);
          assert.ok(maxDiff(ours.y, composed.y) < 1e-4, `${label}: output`);
          assert.deepEqual(Object.keys(ours.grads).sort(), trained.filter((n) => leaves[n as keyof typeof leaves]).sort(), `${label}: which gradients`);
          for (const [name, g] of Object.entries(ours.grads)) assert.ok(maxDiff(g, composed.grads[name]!) < 1e-3, `${label}: gradient of ${name}`);
        }
      }
    }
  });
});

test("linear: inputs whose rows are not contiguous, transposed weights, and no autograd", () => {
  T.tidy(() => {
    const w = T.randn([24, 40], { seed: 45 }), b = T.randn([24], { seed: 46 });
    const wide = T.randn([6, 9, 50], { seed: 47 });
    const x = wide.narrow(-1, 3, 40); // rows 50 floats apart
    const xT = T.randn([40, 6], { seed: 48 }).t(); // [6, 40], columns 6 apart: copied before the product
    const wT = T.randn([40, 24], { seed: 49 }).t(); // [24, 40] weight with column stride 24: libtorch's route
    for (const [input, weight] of [[x, w], [xT, w], [x, wT]] as const) {
      const want = input.matmul(weight.t()).add(b);
      assert.ok(maxDiff(T.noGrad(() => input.linear(weight, b)), want) < 1e-4);
      assert.ok(maxDiff(input.linear(weight, b), want) < 1e-4, "with grad mode on and nothing requiring grad");
    }
  });
});

test("linear: under bf16 autocast, the result is bfloat16 as libtorch's autocast makes it", () => {
  T.tidy(() => {
    const x = T.randn([5, 32], { seed: 50 }), w = T.randn([8, 32], { seed: 51 });
    const y = T.autocast("cpu", () => x.linear(w, null));
    assert.equal(y.dtype, "bfloat16");
    assert.ok(maxDiff(y.toDtype("float32"), x.matmul(w.t())) < 0.1);
  });
});
