// CUDA path: runs only where the addon was built against a CUDA libtorch and sees a GPU
// (scripts/gpu/run.sh on the device machine); skipped with the reason everywhere else.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../../src/torch/index.js";

const skip = T.cudaAvailable() ? false : "no CUDA device (CPU build or no GPU): run scripts/gpu/run.sh on a GPU machine";

test("cuda: matmul, softmax and their gradient match the CPU", { skip }, () => {
  T.tidy(() => {
    const a = T.randn([64, 32], { seed: 1 }), b = T.randn([32, 48], { seed: 2 });
    const ca = a.clone().requireGrad();
    const cpu = ca.matmul(b).softmax(-1);
    cpu.square().sum().backward();
    const ga = a.to("cuda").requireGrad();
    const gpu = ga.matmul(b.to("cuda")).softmax(-1);
    assert.equal(gpu.device, "cuda:0");
    const d = cpu.sub(gpu.to("cpu")).abs().max().item();
    assert.ok(d < 1e-4, `max diff ${d}`);
    gpu.square().sum().backward();
    assert.equal(ga.grad!.device, "cuda:0");
    const g = ca.grad!.sub(ga.grad!.to("cpu")).abs().max().item();
    const scale = ca.grad!.abs().max().item();
    assert.ok(g <= 1e-4 * Math.max(1, scale), `gradient max diff ${g} (largest entry ${scale})`);
  });
});

test("cuda: bf16 autocast runs matmuls in bfloat16", { skip }, () => {
  T.tidy(() => {
    const a = T.randn([16, 16], { seed: 3, device: "cuda" });
    const y = T.autocast("cuda", () => a.matmul(a));
    assert.equal(y.dtype, "bfloat16");
  });
});

test("cpu: bf16 autocast runs linear in bfloat16 and restores float32 after", () => {
  T.tidy(() => {
    const x = T.randn([4, 8], { seed: 4 }), w = T.randn([3, 8], { seed: 5 });
    assert.equal(T.autocast("cpu", () => x.linear(w)).dtype, "bfloat16");
    assert.equal(x.linear(w).dtype, "float32");
  });
});
