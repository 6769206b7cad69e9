// KoCLIP (VisionTextDualEncoder: CLIP vision + RoBERTa) against Hugging Face's outputs for the
// koclip-tiny fixture: towers, embeddings, logits, loss, every gradient, two AdamW steps.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { readSafetensors } from "../../src/formats/index.js";
import { isClipBuffer } from "../../src/models/clip/index.js";
import { KoClipModel, parseKoClipConfig } from "../../src/models/koclip/index.js";
import { isRobertaBuffer } from "../../src/models/roberta/index.js";
import { mapSource, VarStore } from "../../src/nn/index.js";
import * as T from "../../src/torch/index.js";
import { fixture } from "../helpers/fixtures.js";
import { assertClose, checkTwoAdamWSteps, goldenTextBatch, loadGolden } from "../helpers/golden.js";

const configJson = JSON.parse(readFileSync(fixture("koclip-tiny", "model", "config.json"), "utf8"));

function loadTiny(trainable = false): KoClipModel {
  const file = fixture("koclip-tiny", "model", "model.safetensors");
  const store = VarStore.fromSource(mapSource(readSafetensors(file)), { file, trainable });
  const model = new KoClipModel(store, parseKoClipConfig(configJson, "koclip-tiny/config.json"));
  store.assertAllUsed((n) => isClipBuffer(n) || isRobertaBuffer(n));
  return model;
}

test("koclip-tiny: towers, embeddings, logits and loss match Hugging Face (≤ 1e-4)", () => {
  const g = loadGolden("koclip-tiny");
  const model = loadTiny();
  T.tidy(() =>
    T.noGrad(() => {
      const pixels = g.get("pixel_values");
      const batch = goldenTextBatch(g);
      const vision = model.visionModel.forward(pixels);
      assertClose(vision.lastHiddenState, g.get("vision_last_hidden_state"), 1e-4, "vision_last_hidden_state");
      assertClose(vision.pooledOutput, g.get("vision_pooler_output"), 1e-4, "vision_pooler_output");
      const text = model.textModel.forward(batch);
      assertClose(text.lastHiddenState, g.get("text_last_hidden_state"), 1e-4, "text_last_hidden_state");
      assertClose(text.pooledOutput, g.get("text_pooler_output"), 1e-4, "text_pooler_output");
      const out = model.forward(pixels, batch);
      assertClose(out.imageEmbeds, g.get("image_embeds"), 1e-4, "image_embeds");
      assertClose(out.textEmbeds, g.get("text_embeds"), 1e-4, "text_embeds");
      assertClose(out.logitsPerImage, g.get("logits_per_image"), 1e-4, "logits_per_image");
      assertClose(out.loss.reshape([1]), g.get("loss"), 1e-4, "loss");
    }),
  );
  model.store.dispose();
});

test("koclip-tiny: gradients and two AdamW steps match Hugging Face", () => {
  const g = loadGolden("koclip-tiny");
  const model = loadTiny(true);
  T.tidy(() => checkTwoAdamWSteps(model, g, g.get("pixel_values"), goldenTextBatch(g)));
  model.store.dispose();
});

test("a hybrid-clip (Flax) config counts text positions from zero", () => {
  const hybrid = parseKoClipConfig({ ...configJson, model_type: "hybrid-clip" }, "flax/config.json");
  const file = fixture("koclip-tiny", "model", "model.safetensors");
  const source = mapSource(readSafetensors(file));
  const pt = new KoClipModel(VarStore.fromSource(source, { file }), parseKoClipConfig(configJson));
  const flax = new KoClipModel(VarStore.fromSource(source, { file }), hybrid);
  assert.equal(flax.textModel.positionIds, "from-zero");
  assert.equal(pt.textModel.positionIds, "padding-offset");
  pt.store.dispose();
  flax.store.dispose();
});

test("config errors name the file and field", () => {
  assert.throws(() => parseKoClipConfig({ ...configJson, model_type: "bert" }, "x/config.json"), /x\/config.json: model_type must be one of vision-text-dual-encoder, hybrid-clip, got "bert"/);
  assert.throws(() => parseKoClipConfig({ ...configJson, vision_config: undefined }, "x/config.json"), /x\/config.json: vision_config must be a JSON object, got undefined/);
  const badShape = { ...configJson, projection_dim: 8 };
  const file = fixture("koclip-tiny", "model", "model.safetensors");
  assert.throws(() => new KoClipModel(VarStore.fromSource(mapSource(readSafetensors(file)), { file }), parseKoClipConfig(badShape)), /visual_projection.weight' has shape \[16,32\] but the config implies \[8,32\]/);
});
