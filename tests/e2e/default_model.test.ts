// The shipped default model: loads with loadModel('models/koclip-emoji'), and a slice of its
// README evaluation (zero-shot on 200 OpenMoji concepts) re-runs to exactly the recorded numbers.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../../src/index.js";
import { evaluateSlice } from "../../recipes/koclip-emoji/slice.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

const DIR = join(REPO_ROOT, "models", "koclip-emoji");

test("models/koclip-emoji ships in HF format, fp16, under 30 MB", () => {
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "curves.png"]) {
    assert.ok(existsSync(join(DIR, f)), `${f} is shipped`);
  }
  assert.ok(statSync(join(DIR, "model.safetensors")).size < 30 * 2 ** 20);
  assert.equal(JSON.parse(readFileSync(join(DIR, "config.json"), "utf8")).dtype, "float16");
});

test("the README's evaluation slice re-runs to the recorded numbers", async () => {
  const recorded = JSON.parse(readFileSync(join(DIR, "eval-slice.json"), "utf8"));
  const model = await loadModel(DIR);
  try {
    const now = await evaluateSlice(model);
    assert.deepEqual(now, recorded);
    assert.ok(now.top1 > 10 / recorded.concepts, `top-1 ${now.top1} is far above chance`);
  } finally {
    model.dispose();
  }
});
