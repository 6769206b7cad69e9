// Memory stays flat over a long training loop through the public API: scopes free each step's
// intermediates, and the addon's allocator settings keep freed blocks from fragmenting the heap.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { clipVitB32Vision } from "../../../src/models/clip/config.js";
import { ClipEncoder } from "../../../src/models/clip/encoder.js";
import { Linear, VarStore } from "../../../src/nn/index.js";
import { AdamW } from "../../../src/optim/index.js";
import * as T from "../../../src/torch/index.js";

test("5,000 training steps of a 2-layer MLP grow RSS by less than 50 MB", () => {
  T.manualSeed(0);
  const store = VarStore.fresh();
  const fc1 = new Linear(store.root.pp("fc1"), 64, 256);
  const fc2 = new Linear(store.root.pp("fc2"), 256, 10);
  const opt = new AdamW([...store.vars.values()], { lr: 1e-3 });
  const x = T.randn([128, 64], { seed: 1 });
  const target = T.randn([128, 10], { seed: 2 });
  const step = () =>
    T.tidy(() => {
      const loss = fc2.forward(fc1.forward(x).gelu()).sub(target).square().mean();
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss.item();
    });
  const first = step();
  for (let i = 1; i < 300; i++) step(); // warm up allocator and optimizer state
  const live = T.liveTensors();
  const rssStart = process.memoryUsage().rss;
  let last = first;
  for (let i = 300; i < 5000; i++) last = step();
  const growth = (process.memoryUsage().rss - rssStart) / 2 ** 20;
  assert.equal(T.liveTensors(), live, "tensors leaked per step");
  assert.ok(growth < 50, `RSS grew ${growth.toFixed(1)} MB`);
  assert.ok(last < first, `loss fell (${first} → ${last})`);
  opt.dispose();
  store.dispose();
  T.disposeAll([x, target]);
});

test("a CLIP encoder forward frees each layer's intermediates: only its output stays alive", () => {
  T.manualSeed(0);
  const store = VarStore.fresh({ trainable: false });
  const cfg = { ...clipVitB32Vision(), hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_hidden_layers: 3 };
  const encoder = new ClipEncoder(store.root.pp("encoder"), cfg);
  const x = T.randn([2, 5, 32], { seed: 1 });
  const before = T.liveTensors();
  const y = T.noGrad(() => encoder.forward(x, null)); // deliberately outside any tidy scope
  assert.equal(T.liveTensors(), before + 1, "intermediates of the layers are still alive");
  assert.deepEqual(y.shape, [2, 5, 32]);
  assert.ok(!x.isDisposed, "the caller's input stays alive");
  T.disposeAll([x, y]);
  store.dispose();
});

// V8 hears about the memory of tensors only a GC would free if nobody disposed them; tensors a
// scope owns are freed by the scope. Reporting every intermediate made V8 run a full collection
// about twice per ViT-B/32 forward pass.
test("tensor memory is reported to V8 exactly for tensors no scope owns", () => {
  const mb = 2 ** 20;
  const base = T.externalBytes();
  const outside = T.zeros([mb / 4]); // made outside any scope: 1 MB reported
  assert.equal(T.externalBytes() - base, mb);
  const [kept, returned] = T.tidy(() => {
    const inner = T.tidy(() => {
      const temp = T.zeros([mb / 4]);
      assert.equal(T.externalBytes() - base, mb, "a scope's own tensor is not reported");
      return temp.add(1); // returned into the outer scope: still owned
    });
    assert.equal(T.externalBytes() - base, mb);
    const k = T.keep(T.zeros([2 * mb / 4])); // kept: no scope disposes it
    assert.equal(T.externalBytes() - base, 3 * mb);
    return [k, inner];
  });
  assert.equal(T.externalBytes() - base, 4 * mb, "returned from the outermost scope: reported");
  T.keep(kept); // reporting twice counts once
  assert.equal(T.externalBytes() - base, 4 * mb);
  T.disposeAll([outside, kept, returned]);
  assert.equal(T.externalBytes(), base, "dispose takes the report back");
});

// bin/koclip-node asks jemalloc for transparent huge pages (thp:always): a 4 KB page fault costs
// ~13 µs on our machines, and first touches of fresh memory dominated loading a model. Where the
// kernel offers huge pages on request ("always" or "madvise"), a fresh 64 MB tensor lives in them.
const thpSetting = existsSync("/sys/kernel/mm/transparent_hugepage/enabled") ? /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1] : undefined;
test("under bin/koclip-node a fresh 64 MB tensor is backed by transparent huge pages", {
  skip: (T.buildInfo().allocator !== "jemalloc" || !["always", "madvise"].includes(thpSetting ?? "")) && `allocator ${T.buildInfo().allocator}, THP ${thpSetting ?? "absent"}`,
}, () => {
  const hugeKb = () => Number(/AnonHugePages:\s+(\d+) kB/.exec(readFileSync("/proc/self/smaps_rollup", "utf8"))?.[1] ?? 0);
  const before = hugeKb();
  const x = T.ones([16, 1024, 1024]); // 64 MB, every page touched
  try {
    assert.ok(hugeKb() - before >= 32 * 1024, `AnonHugePages grew by ${hugeKb() - before} kB`);
  } finally {
    x.dispose();
  }
});
