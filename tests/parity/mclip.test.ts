/**
 * M-CLIP's text encoder against the mclip-tiny fixture (XLM-R without pooler under
 * `transformer.`, `LinearTransformation` with bias): last_hidden_state, mean_pooled and the
 * un-normalised text_embeds must match to ≤ 1e-4, loading every checkpoint tensor strictly.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { readSafetensors } from "../../src/formats/index.js";
import { maskedMeanPool, mclipXlmRobertaLargeVitB32, MultilingualCLIP, parseMClipConfig } from "../../src/models/mclip/index.js";
import { isRobertaBuffer } from "../../src/models/roberta/index.js";
import { mapSource, VarStore } from "../../src/nn/index.js";
import * as T from "../../src/torch/index.js";
import { fixture } from "../helpers/fixtures.js";
import { assertClose, goldenTextBatch, loadGolden, maxAbsDiff } from "../helpers/golden.js";

const configJson = JSON.parse(readFileSync(fixture("mclip-tiny", "model", "config.json"), "utf8")) as Record<string, unknown>;
const cfg = parseMClipConfig(configJson, "mclip-tiny/model/config.json");
const golden = loadGolden("mclip-tiny");
const batch = goldenTextBatch(golden);

function checkpointStore(): VarStore {
  const source = mapSource(readSafetensors(fixture("mclip-tiny", "model", "model.safetensors")));
  return VarStore.fromSource(source, { file: "mclip-tiny/model.safetensors" });
}

describe("MultilingualCLIP vs the M-CLIP reference (mclip-tiny)", () => {
  const store = checkpointStore();
  const model = new MultilingualCLIP(store.root, cfg);

  test("loads every checkpoint tensor, strictly, and builds no pooler", () => {
    // A position_ids buffer (saved by older transformers) is the only tensor allowed to go unused.
    store.assertAllUsed(isRobertaBuffer);
    assert.equal(model.transformer.pooler, null);
    assert.equal(model.transformer.positionIds, "padding-offset");
  });

  test("last_hidden_state, mean_pooled and text_embeds match to 1e-4", () => {
    T.noGrad(() =>
      T.tidy(() => {
        const out = model.forward(batch);
        const diffs = {
          last_hidden_state: maxAbsDiff(out.lastHiddenState, golden.get("last_hidden_state")),
          mean_pooled: maxAbsDiff(out.meanPooled, golden.get("mean_pooled")),
          text_embeds: maxAbsDiff(out.textEmbeds, golden.get("text_embeds")),
        };
        console.log("mclip parity max abs diff:", Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(", "));
        assertClose(out.lastHiddenState, golden.get("last_hidden_state"), 1e-4, "last_hidden_state");
        assertClose(out.meanPooled, golden.get("mean_pooled"), 1e-4, "mean_pooled");
        assertClose(out.textEmbeds, golden.get("text_embeds"), 1e-4, "text_embeds");
        // M-CLIP returns the linear output as is: rows are not unit length.
        const norms = out.textEmbeds.norm(2, [1]).toArray();
        assert.ok(norms.some((n) => Math.abs(n - 1) > 1e-3), "text_embeds are not L2-normalised");
      }),
    );
  });

  test("the golden batch has padding (so the masked mean is exercised)", () => {
    assert.ok(batch.attentionMask.toArray().includes(0));
  });
});

describe("maskedMeanPool", () => {
  test("averages over real tokens only", () => {
    T.tidy(() => {
      const h = T.tensor([[[1, 10], [3, 30], [100, 100]], [[2, 4], [6, 8], [10, 12]]]); // [2, 3, 2]
      const mask = T.tensor([[1, 1, 0], [1, 1, 1]], { dtype: "int64" });
      assert.deepEqual(maskedMeanPool(h, mask).toArray(), [2, 20, 6, 8]);
    });
  });
});

describe("M-CLIP config", () => {
  test("reads the fixture's fields", () => {
    assert.equal(cfg.modelBase, "xlm-roberta");
    assert.equal(cfg.transformerDimensions, 32);
    assert.equal(cfg.numDims, 16);
    assert.equal(cfg.text_config.model_type, "xlm-roberta");
    assert.equal(cfg.text_config.type_vocab_size, 2);
  });

  test("a released config (no text_config) takes the transformer from the modelBase preset", () => {
    const released = parseMClipConfig({ model_type: "M-CLIP", modelBase: "xlm-roberta-large", transformerDimensions: 1024, numDims: 512 });
    assert.deepEqual(released, mclipXlmRobertaLargeVitB32());
    assert.equal(released.text_config.vocab_size, 250002);
  });

  test("errors name the file and the field", () => {
    assert.throws(() => parseMClipConfig({ model_type: "M-CLIP", modelBase: "my/bert" }, "c.json"), /c\.json: no text_config, and modelBase 'my\/bert' has no preset \(known: xlm-roberta-large,/);
    assert.throws(() => parseMClipConfig({ ...configJson, transformerDimensions: 64 }, "c.json"), /c\.json: transformerDimensions 64 differs from the transformer's hidden_size 32/);
    assert.throws(() => parseMClipConfig({ ...configJson, numDims: 0 }, "c.json"), /c\.json: numDims must be a positive integer, got 0/);
    assert.throws(() => parseMClipConfig({ ...configJson, model_type: "clip" }, "c.json"), /c\.json: model_type must be one of M-CLIP, got "clip"/);
    assert.throws(
      () => parseMClipConfig({ ...configJson, text_config: { ...(configJson.text_config as object), hidden_act: "swish" } }, "c.json"),
      /c\.json: text_config\.hidden_act must be one of gelu, /,
    );
  });

  test("a checkpoint whose transformer has a pooler loads it (strictly) and ignores it", () => {
    // Build a fresh M-CLIP with a pooler, save its tensors, and load them back.
    T.manualSeed(5);
    const fresh = VarStore.fresh({ trainable: false });
    new MultilingualCLIP(fresh.root, cfg, { addPoolingLayer: true });
    const raw = new Map([...fresh.vars].map(([k, v]) => [k, { dtype: "F32" as const, shape: v.shape, data: v.toBytes() }]));
    assert.ok(raw.has("transformer.pooler.dense.weight"));
    const store = VarStore.fromSource(mapSource(raw), { file: "with-pooler" });
    const model = new MultilingualCLIP(store.root, cfg);
    store.assertAllUsed();
    assert.notEqual(model.transformer.pooler, null);
    T.noGrad(() => T.tidy(() => assert.deepEqual(model.forward(batch).textEmbeds.shape, [4, 16])));
    fresh.dispose();
    store.dispose();
  });
});
