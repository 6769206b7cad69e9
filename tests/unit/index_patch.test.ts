// Text -> patch heatmap: shape, tile bounds, and that each cell equals the score of that tile
// cut out of the image and embedded on its own.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { loadModel, type PretrainedModel } from "../../src/index.js";
import { patchHeatmap, tileBounds } from "../../src/tasks/patch.js";
import { renderHeatmap } from "../../src/cli/commands/classify.js";
import { fixture } from "../helpers/fixtures.js";

let model: PretrainedModel;
before(async () => {
  model = await loadModel(fixture("koclip-tiny", "model"));
});
after(() => model.dispose());

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

test("tileBounds covers the image exactly", () => {
  assert.deepEqual(tileBounds(640, 480, 4, 4, 0, 1), { x: 160, y: 0, width: 160, height: 120 });
  for (const [w, h, n] of [[101, 57, 4], [7, 7, 3], [800, 600, 5]] as const) {
    let area = 0;
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
      const b = tileBounds(w, h, n, n, r, c);
      assert.ok(b.width >= 1 && b.height >= 1);
      area += b.width * b.height;
    }
    assert.equal(area, w * h);
  }
});

test("patchHeatmap: grid shape, and each tile scores as that tile cut out and embedded alone", async () => {
  const image = fixture("image-processor", "images", "photo_800x600.jpg");
  const text = "바닷가의 강아지";
  const h = await patchHeatmap(model, image, text, { grid: 3 });
  assert.deepEqual([h.rows, h.cols, h.width, h.height], [3, 3, 800, 600]);
  assert.equal(h.scores.length, 3);
  for (const row of h.scores) assert.equal(row.length, 3);
  const [t] = await model.encodeTexts([text]);
  for (const [r, c] of [[0, 0], [1, 2], [2, 1]] as const) {
    const b = tileBounds(800, 600, 3, 3, r, c);
    // Cut from the decoded image and re-encoded losslessly: the same pixels the heatmap saw.
    const tile = await sharp(image).extract({ left: b.x, top: b.y, width: b.width, height: b.height }).png().toBuffer();
    const [e] = await model.encodeImages([tile]);
    assert.ok(Math.abs(dot(e!, t!) - h.scores[r]![c]!) < 1e-5, `tile ${r},${c}: ${dot(e!, t!)} vs ${h.scores[r]![c]}`);
  }
  const def = await patchHeatmap(model, image, text);
  assert.deepEqual([def.rows, def.cols], [4, 4]);
  const text4 = renderHeatmap(def).split("\n");
  assert.equal(text4.length, 4);
  assert.ok(text4.join("").includes("█"));
  await assert.rejects(patchHeatmap(model, image, text, { grid: 0 }), /grid must be an integer from 1 to 32/);
});
