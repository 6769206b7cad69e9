// The multi-positive contrastive loss: hand-computed targets, equality with CLIP's loss when a
// batch has no duplicates, and duplicates no longer pushed apart.
import assert from "node:assert/strict";
import { test } from "node:test";
import { contrastiveOutput } from "../../src/models/losses/contrastive.js";
import * as T from "../../src/torch/index.js";
import { multiPositiveLoss, positiveTargets } from "../../src/models/losses/multi_positive.js";
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig } from "../../src/train/config.js";
import { cosineLr } from "../../src/optim/index.js";

test("positiveTargets spreads each row over its group and identical captions", () => {
  const m = Array.from(positiveTargets(["a", "b", "a"], ["고양이", "개", "새끼 고양이"]));
  assert.deepEqual(m.map((x) => Math.round(x * 1000) / 1000), [0.5, 0, 0.5, 0, 1, 0, 0.5, 0, 0.5]);
  const byText = Array.from(positiveTargets(["x", "y"], ["같음", "같음"]));
  assert.deepEqual(byText, [0.5, 0.5, 0.5, 0.5]);
});

test("without duplicates the loss equals CLIP's symmetric loss", () => {
  T.tidy(() => {
    const img = T.randn([4, 8], { seed: 1 }), txt = T.randn([4, 8], { seed: 2 });
    const ni = img.div(img.norm(2, [-1], true)), nt = txt.div(txt.norm(2, [-1], true));
    const scale = T.tensor(Math.log(10));
    const clip = contrastiveOutput(ni, nt, scale);
    const ours = multiPositiveLoss(clip.logitsPerImage, ["a", "b", "c", "d"], ["1", "2", "3", "4"]);
    assert.ok(Math.abs(ours.item() - clip.loss.item()) < 1e-6);
  });
});

test("hand-computed 2×2 case with a duplicate concept", () => {
  T.tidy(() => {
    // logits [[2, 0], [0, 2]]; both rows are the same concept: target [.5, .5] everywhere
    const logits = T.tensor([[2, 0], [0, 2]]);
    const l = multiPositiveLoss(logits, ["k", "k"], ["a", "b"]).item();
    const lse = Math.log(Math.exp(2) + 1);
    const expected = -(0.5 * (2 - lse) + 0.5 * (0 - lse)); // per row, both directions equal
    assert.ok(Math.abs(l - expected) < 1e-6, `${l} vs ${expected}`);
  });
});

test("training config: defaults, type checks and start-point rules name the field", () => {
  const c = resolveTrainConfig({ data: "d.jsonl", out: "o", model: "m" }, { lr: 1e-3 });
  assert.equal(c.lr, 1e-3);
  assert.equal(c.batchSize, DEFAULT_TRAIN_CONFIG.batchSize);
  assert.throws(() => resolveTrainConfig({ data: "d", out: "o", model: "m", lr: "fast" }), /training option 'lr': expected number/);
  assert.throws(() => resolveTrainConfig({ data: "d", out: "o", model: "m", bogus: 1 }), /unknown training option 'bogus'/);
  assert.throws(() => resolveTrainConfig({ data: "d", out: "o" }), /start from exactly one of/);
  assert.throws(() => resolveTrainConfig({ data: "d", out: "o", vision: "v" }), /vision and text towers go together/);
  assert.throws(() => resolveTrainConfig({ data: "d", out: "o", model: "m", batchSize: 1 }), /at least 2 pairs/);
  assert.ok(cosineLr(0, { baseLr: 1, warmupSteps: 0, totalSteps: 10 }) === 1);
});
