/**
 * Ships a trained run as models/koclip-emoji: the same HF folder with fp16 weights (half the
 * size), its training curves and the training config that produced it.
 * Usage: koclip-node dist/recipes/koclip-emoji/ship.js RUN_MODEL_DIR OUT_DIR
 */
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadModel, saveModel } from "../../src/index.js";
import { evaluateSlice } from "./slice.js";

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  console.error("usage: ship.js RUN_MODEL_DIR OUT_DIR");
  process.exit(2);
}
const model = await loadModel(from);
saveModel(model, to, { dtype: "float16" });
for (const f of ["curves.png", "curves.svg", "train_config.json", "metrics.jsonl"]) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
model.dispose();
// The slice is measured on the shipped (fp16) weights, which is what users and the test load.
const shipped = await loadModel(to);
const slice = await evaluateSlice(shipped);
shipped.dispose();
writeFileSync(join(to, "eval-slice.json"), JSON.stringify(slice, null, 2) + "\n");
console.log(`shipped ${from} → ${to} (fp16); slice ${JSON.stringify(slice)}`);
