// A schedule in phases expands to the stages it stands for: the koclip-emoji recipe's 19 warm
// restarts with their seeds and starting models, a --steps budget shared over them, bad phases refused.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { resolveTrainConfig } from "../../src/train/config.js";
import { expandPhases } from "../../src/train/phases.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

const recipe = JSON.parse(readFileSync(join(REPO_ROOT, "recipes", "koclip-emoji", "train.json"), "utf8")) as Record<string, unknown>;

test("the koclip-emoji recipe is 19 stages: one from scratch, then 18 warm restarts, each from the last", () => {
  const stages = expandPhases(resolveTrainConfig(recipe));
  assert.equal(stages.length, 19);
  assert.deepEqual(stages.map((s) => s.steps), [1800, 800, 1000, 1600, 1000, 1200, ...Array(13).fill(1000)]);
  assert.deepEqual(stages.map((s) => s.seed), Array.from({ length: 19 }, (_, i) => i));
  assert.equal(stages[0]!.modelConfig, "recipes/koclip-emoji/model-config.json");
  assert.equal(stages[0]!.lr, 1e-3);
  assert.deepEqual(stages[0]!.cropScale, [0.6, 1]);
  assert.equal(stages[0]!.foregroundKey, null);
  for (let i = 1; i < 19; i++) {
    const s = stages[i]!;
    assert.equal(s.model, join("runs/koclip-emoji", `stage-${i}`));
    assert.equal(s.modelConfig, null);
    assert.equal(s.tokenizer, null);
    assert.equal(s.lr, 3e-4);
    assert.equal(s.foregroundKey, "foreground");
    assert.equal(s.out, join("runs/koclip-emoji", `stage-${i + 1}`));
    assert.equal(s.phases, null);
  }
  // Options outside the phases hold for every stage.
  assert.ok(stages.every((s) => s.batchSize === 256 && s.amp === "bf16" && s.positiveKey === "key"));
});

test("--steps on a phased config shares that many steps over the stages in proportion, at least one each", () => {
  for (const budget of [19, 50, 1000]) {
    const stages = expandPhases(resolveTrainConfig(recipe, { steps: budget }));
    assert.equal(stages.reduce((sum, s) => sum + s.steps, 0), budget, `budget ${budget}`);
    assert.ok(stages.every((s) => s.steps >= 1));
    assert.ok(stages[0]!.steps >= stages[1]!.steps, "the longest stage keeps the largest share");
  }
});

test("a config without phases is one run, unchanged", () => {
  const cfg = resolveTrainConfig({ data: "d.jsonl", out: "o", model: "m", steps: 7 });
  assert.deepEqual(expandPhases(cfg), [cfg]);
});

test("bad phases are refused, naming the phase and the problem", () => {
  const base = { data: "d.jsonl", out: "o", model: "m" };
  assert.throws(() => resolveTrainConfig({ ...base, phases: [] }), /'phases': expected a non-empty list/);
  assert.throws(() => resolveTrainConfig({ ...base, phases: [{ lrr: 1 }] }), /phases\[0\]: unknown training option 'lrr'/);
  assert.throws(() => resolveTrainConfig({ ...base, phases: [{}, { restarts: [10, 0] }] }), /phases\[1\]\.restarts: expected a list of positive step counts/);
  assert.throws(() => expandPhases(resolveTrainConfig({ ...base, phases: [{ lr: "fast" }] })), /training option 'lr': expected number, got "fast"/);
});
