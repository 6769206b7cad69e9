// CLIP (src/models/clip) against the clip-tiny fixture made by HF transformers 5.17 (CPU fp32):
// configs first, then strict loading, then bottom-up parity (each tower, the projections, the
// joint outputs), then two AdamW training steps. Golden `*_pooler_output` for CLIPModel are the
// *projected*, unnormalised tower features (transformers 5 returns get_*_features' output there),
// so they are compared after the projection.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { readSafetensors, type RawTensor } from "../../src/formats/index.js";
import {
  ClipModel,
  clipVitB32,
  clipVitB32Vision,
  parseClipConfig,
  parseClipTextConfig,
  parseClipVisionConfig,
  type ClipConfig,
} from "../../src/models/clip/index.js";
import { mapSource } from "../../src/nn/index.js";
import * as T from "../../src/torch/index.js";
import { fixture } from "../helpers/fixtures.js";
import { assertClose, checkTwoAdamWSteps, goldenTextBatch, loadGolden, type Golden } from "../helpers/golden.js";

const CONFIG = fixture("clip-tiny", "model", "config.json");
const WEIGHTS = fixture("clip-tiny", "model", "model.safetensors");
const TOL = 1e-4;

const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, "utf8"));
const tinyConfig = (): ClipConfig => parseClipConfig(readJson(CONFIG), CONFIG);
const weights = (): Map<string, RawTensor> => readSafetensors(WEIGHTS);
const load = (cfg: ClipConfig = tinyConfig(), map = weights(), trainable = false): ClipModel =>
  ClipModel.fromSource(mapSource(map), cfg, { file: WEIGHTS, trainable });

// ---------------------------------------------------------------------------------------------
// Configs

test("config: clip-tiny parses with HF names and defaults", () => {
  const cfg = tinyConfig();
  assert.equal(cfg.projection_dim, 16);
  assert.equal(cfg.logit_scale_init_value, 2.6592);
  assert.equal(cfg.vision_config.patch_size, 8);
  assert.equal(cfg.vision_config.hidden_act, "quick_gelu");
  assert.equal(cfg.text_config.eos_token_id, 1);
  assert.equal(cfg.text_config.max_position_embeddings, 32);
  // Absent fields take HF's class defaults (ViT-B/32 and the base text tower).
  const sparse = parseClipConfig({ model_type: "clip" }, "sparse.json");
  assert.deepEqual(sparse, clipVitB32());
});

test("config: a vision config is found standalone, inside clip, and inside vision-text-dual-encoder", () => {
  const tiny = readJson(CONFIG);
  const standalone = tiny.vision_config as Record<string, unknown>;
  const expected = parseClipVisionConfig(standalone, "vision.json");
  assert.equal(expected.hidden_size, 32);
  assert.deepEqual(parseClipVisionConfig(tiny, CONFIG), expected);
  // KoCLIP's layout: a dual encoder whose vision_config is a clip_vision_model.
  const koclipPath = fixture("koclip-tiny", "model", "config.json");
  const koclip = parseClipVisionConfig(readJson(koclipPath), koclipPath);
  assert.equal(koclip.model_type, "clip_vision_model");
  assert.equal(koclip.image_size, 32);
  // A dual encoder built from a whole CLIP checkpoint: vision_config is itself a `clip` config.
  const nested = { model_type: "vision-text-dual-encoder", vision_config: tiny, text_config: {} };
  assert.deepEqual(parseClipVisionConfig(nested, "dual.json"), expected);
  // A text config reads the same way; a non-CLIP vision tower is refused by name.
  assert.equal(parseClipTextConfig(tiny, CONFIG).vocab_size, 1200);
  assert.throws(
    () => parseClipVisionConfig({ model_type: "vision-text-dual-encoder", vision_config: { model_type: "vit" } }, "dual.json"),
    /dual\.json: vision_config\.model_type 'vit' is not a CLIP vision config/,
  );
  assert.equal(clipVitB32Vision().hidden_size, 768);
});

test("config: an unknown hidden_act is refused, naming the file, the field and the allowed values", () => {
  const json = readJson(CONFIG);
  (json.vision_config as Record<string, unknown>).hidden_act = "swish";
  assert.throws(() => parseClipConfig(json, "bad.json"), (err: Error) => {
    assert.match(err.message, /^bad\.json: vision_config\.hidden_act must be one of .*, got "swish"$/);
    for (const act of ["gelu", "quick_gelu", "relu"]) assert.ok(err.message.includes(act), `lists ${act}: ${err.message}`);
    return true;
  });
});

test("config: a field of the wrong type is refused naming the file and the dotted field", () => {
  const json = readJson(CONFIG);
  (json.text_config as Record<string, unknown>).hidden_size = "32";
  assert.throws(() => parseClipConfig(json, "bad.json"), /^ConfigError: bad\.json: text_config\.hidden_size must be a positive integer, got "32"$/);
  const heads = readJson(CONFIG);
  (heads.vision_config as Record<string, unknown>).num_attention_heads = 5;
  assert.throws(() => parseClipConfig(heads, "bad.json"), /vision_config\.hidden_size 32 is not divisible by num_attention_heads 5/);
});

// ---------------------------------------------------------------------------------------------
// Strict loading

test("load: a config that disagrees with the checkpoint fails in one line naming the tensor", () => {
  const cfg = tinyConfig();
  cfg.vision_config = { ...cfg.vision_config, hidden_size: 64 };
  assert.throws(() => load(cfg), (err: Error) => {
    assert.ok(!err.message.includes("\n"), "one line");
    assert.match(err.message, /tensor 'vision_model\.embeddings\.class_embedding' has shape \[32\] but the config implies \[64\]/);
    return true;
  });
});

test("load: position_ids buffers from older checkpoints are skipped, any other extra tensor fails", () => {
  // transformers < 4.31 saved the arange buffers `*.embeddings.position_ids`; they hold no weights.
  const withBuffers = weights();
  const ids = (n: number): RawTensor => ({ dtype: "I64", shape: [1, n], data: new Uint8Array(new BigInt64Array(Array.from({ length: n }, (_, i) => BigInt(i))).buffer) });
  withBuffers.set("text_model.embeddings.position_ids", ids(32));
  withBuffers.set("vision_model.embeddings.position_ids", ids(17));
  load(tinyConfig(), withBuffers).store.dispose();

  const extra = weights();
  extra.set("vision_model.extra_head.weight", { dtype: "F32", shape: [1], data: new Uint8Array(4) });
  assert.throws(() => load(tinyConfig(), extra), /unexpected tensors not used by the model: vision_model\.extra_head\.weight/);

  const missing = weights();
  missing.delete("text_projection.weight");
  assert.throws(() => load(tinyConfig(), missing), /missing tensor 'text_projection\.weight' \(expected shape \[16,32\]\)/);
});

test("load: a fresh model has exactly the checkpoint's names and shapes", () => {
  T.manualSeed(0);
  const fresh = ClipModel.fresh(tinyConfig());
  const ckpt = weights();
  const ours = [...fresh.store.vars.entries()].map(([n, t]) => `${n} [${t.shape}]`).sort();
  const theirs = [...ckpt.entries()].map(([n, r]) => `${n} [${r.shape}]`).sort();
  assert.deepEqual(ours, theirs);
  // HF's init: logit_scale from the config, unit LayerNorms, zero biases, small normal weights.
  assert.equal(fresh.logitScale().item(), Math.fround(2.6592));
  assert.equal(fresh.store.vars.get("text_model.final_layer_norm.weight")!.min().item(), 1);
  assert.equal(fresh.store.vars.get("vision_model.encoder.layers.0.mlp.fc1.bias")!.abs().max().item(), 0);
  const tok = fresh.store.vars.get("text_model.embeddings.token_embedding.weight")!;
  T.tidy(() => assert.ok(Math.abs(tok.square().mean().sqrt().item() - 0.02) < 0.002, "token embedding std ≈ 0.02"));
  fresh.store.dispose();
});

// ---------------------------------------------------------------------------------------------
// Parity with HF, bottom-up

test("parity: towers, projections, embeddings, logits and loss match HF within 1e-4", () => {
  const g = loadGolden("clip-tiny");
  const model = load();
  const pixels = g.get("pixel_values");
  const batch = goldenTextBatch(g);
  T.noGrad(() => T.tidy(() => {
    // Vision tower: encoder output (before post_layernorm), then the projected class token.
    const vision = model.visionModel.forward(pixels);
    assertClose(vision.lastHiddenState, g.get("vision_last_hidden_state"), TOL, "vision_last_hidden_state");
    assertClose(model.visualProjection.forward(vision.pooledOutput), g.get("vision_pooler_output"), TOL, "vision_pooler_output (projected)");
    // Text tower: causal + padding mask, final_layer_norm, pooled at the first eos.
    const text = model.textModel.forward(batch);
    assertClose(text.lastHiddenState, g.get("text_last_hidden_state"), TOL, "text_last_hidden_state");
    assertClose(model.textProjection.forward(text.pooledOutput), g.get("text_pooler_output"), TOL, "text_pooler_output (projected)");
    // The DualEncoder surface.
    assertClose(model.encodeImage(pixels, { normalize: false }), g.get("vision_pooler_output"), TOL, "encodeImage(normalize: false)");
    assertClose(model.encodeImage(pixels), g.get("image_embeds"), TOL, "image_embeds");
    assertClose(model.encodeText(batch), g.get("text_embeds"), TOL, "text_embeds");
    const out = model.forward(pixels, batch);
    assertClose(out.imageEmbeds, g.get("image_embeds"), TOL, "forward.image_embeds");
    assertClose(out.textEmbeds, g.get("text_embeds"), TOL, "forward.text_embeds");
    assertClose(out.logitsPerImage, g.get("logits_per_image"), TOL, "logits_per_image");
    assertClose(out.logitsPerText, g.get("logits_per_image").t(), TOL, "logits_per_text");
    assertClose(out.loss.reshape([1]), g.get("loss"), TOL, "loss");
  }));
  model.store.dispose();
});

test("text pooling: first eos_token_id, or the argmax of the ids for legacy eos_token_id 2", () => {
  const g = loadGolden("clip-tiny");
  const batch = goldenTextBatch(g);
  const ids = batch.inputIds.toArray();
  const t = batch.inputIds.size(1);
  const rows = ids.length / t;
  const pick = (choose: (row: number[]) => number) => Array.from({ length: rows }, (_, r) => choose(ids.slice(r * t, (r + 1) * t)));
  for (const [eos, expected] of [
    [1, pick((row) => row.indexOf(1))],
    [2, pick((row) => row.indexOf(Math.max(...row)))],
  ] as const) {
    const cfg = tinyConfig();
    cfg.text_config = { ...cfg.text_config, eos_token_id: eos };
    const model = load(cfg);
    T.noGrad(() => T.tidy(() => {
      const out = model.textModel.forward(batch);
      for (let r = 0; r < rows; r++) {
        const want = out.lastHiddenState.select(0, r).select(0, expected[r]!);
        assertClose(out.pooledOutput.select(0, r), want, 0, `eos ${eos}, row ${r} pooled at ${expected[r]}`);
      }
    }));
    model.store.dispose();
  }
});

test("text mask: left padding gives finite outputs and gradients (no empty softmax row)", () => {
  const model = load(tinyConfig(), weights(), true);
  const inputIds = T.tensor([[1, 1, 0, 500, 1], [0, 600, 700, 800, 1]], { dtype: "int64" });
  const attentionMask = T.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], { dtype: "int64" });
  T.tidy(() => {
    const out = model.textModel.forward({ inputIds, attentionMask });
    assert.ok(out.lastHiddenState.isfinite().all().item(), "hidden states finite");
    out.lastHiddenState.sum().backward();
    for (const [name, p] of model.store.vars) if (p.grad) assert.ok(p.grad.isfinite().all().item(), `grad ${name} finite`);
  });
  model.store.dispose();
});

// ---------------------------------------------------------------------------------------------
// Training parity

// ∂loss/∂(k_proj.bias) is exactly zero: adding b to every key adds q·b to all of one query's
// scores, and softmax ignores a shift. HF's and our gradients there are both roundoff (~1e-8), so
// their *relative* difference is meaningless (≈1). checkTwoAdamWSteps compares relatively only,
// so those four parameters are checked here as "zero up to roundoff" and left out of its run
// (they cannot change any output, so the losses it checks are unaffected).
const isKeyBias = (name: string): boolean => /self_attn\.k_proj\.bias$/.test(name);

test("training: key-bias gradients are zero up to roundoff in HF and here", () => {
  const g = loadGolden("clip-tiny");
  const model = load(tinyConfig(), weights(), true);
  T.tidy(() => model.forward(g.get("pixel_values"), goldenTextBatch(g)).loss.backward());
  const keyBiases = [...model.store.vars.keys()].filter(isKeyBias);
  assert.equal(keyBiases.length, 4);
  for (const name of keyBiases) {
    T.tidy(() => {
      const ours = model.store.vars.get(name)!.grad!.norm().item();
      const theirs = g.get(`grad.${name}`).norm().item();
      assert.ok(ours <= 1e-6 && theirs <= 1e-6, `grad.${name}: ours ${ours.toExponential(2)}, HF ${theirs.toExponential(2)}`);
    });
  }
  model.store.dispose();
});

test("training: gradients and two AdamW steps match HF", () => {
  const g = loadGolden("clip-tiny");
  const model = load(tinyConfig(), weights(), true);
  const withoutKeyBiasGrads: Golden = { ...g, raw: new Map([...g.raw].filter(([k]) => !(k.startsWith("grad.") && isKeyBias(k)))) };
  checkTwoAdamWSteps(model, withoutKeyBiasGrads, g.get("pixel_values"), goldenTextBatch(g));
  model.store.dispose();
});
