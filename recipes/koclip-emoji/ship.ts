/**
 * Ships a trained run as models/koclip-emoji: the last stage's HF folder with fp16 weights (half
 * the size), the schedule it was trained with as train_config.json, and curves over all stages
 * (each stage's steps continue where the previous one stopped).
 * Usage: koclip-node dist/recipes/koclip-emoji/ship.js OUT_DIR CONFIG STAGE1_DIR [STAGE2_DIR …]
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadModel, saveModel } from "../../src/index.js";
import { writeCurves } from "../../src/train/train.js";
import { evaluateSlice } from "./slice.js";

const [to, config, ...stages] = process.argv.slice(2);
if (!to || !config || stages.length === 0) {
  console.error("usage: ship.js OUT_DIR CONFIG STAGE1_DIR [STAGE2_DIR …]");
  process.exit(2);
}
const model = await loadModel(stages.at(-1)!);
saveModel(model, to, { dtype: "float16" });
model.dispose();

let offset = 0;
const metrics: string[] = [];
copyFileSync(config, join(to, "train_config.json"));
stages.forEach((dir, i) => {
  let last = 0;
  for (const line of readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n")) {
    if (line === "") continue;
    const m = JSON.parse(line) as { step: number };
    last = m.step;
    metrics.push(JSON.stringify({ ...m, step: m.step + offset, ...(stages.length > 1 ? { stage: i + 1 } : {}) }));
  }
  offset += last;
});
writeFileSync(join(to, "metrics.jsonl"), metrics.join("\n") + "\n");
await writeCurves(to);

// The slice is measured on the shipped (fp16) weights, which is what users and the test load.
const shipped = await loadModel(to);
const slice = await evaluateSlice(shipped);
shipped.dispose();
writeFileSync(join(to, "eval-slice.json"), JSON.stringify(slice, null, 2) + "\n");
console.log(`shipped ${stages.join(" → ")} → ${to} (fp16); slice ${JSON.stringify(slice)}`);
