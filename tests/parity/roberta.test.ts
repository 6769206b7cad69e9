/**
 * The RoBERTa text tower against Hugging Face: koclip-tiny's `text_model.*` weights (a
 * RobertaModel with pooler, 2 layers of width 32) must reproduce golden `text_last_hidden_state`
 * and `text_pooler_output` to ≤ 1e-4. Also: position-id schemes, BERT configs, and the errors a
 * bad config or checkpoint produces.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { readSafetensors, type RawTensor } from "../../src/formats/index.js";
import {
  defaultPositionIds,
  isRobertaBuffer,
  klueRobertaLarge,
  parseRobertaConfig,
  RobertaModel,
  robertaPositionIds,
  xlmRobertaBase,
  type RobertaConfig,
} from "../../src/models/roberta/index.js";
import { mapSource, VarStore } from "../../src/nn/index.js";
import * as T from "../../src/torch/index.js";
import { fixture } from "../helpers/fixtures.js";
import { assertClose, goldenTextBatch, loadGolden, maxAbsDiff } from "../helpers/golden.js";

const CONFIG_FILE = fixture("koclip-tiny", "model", "config.json");
const textConfigJson = JSON.parse(readFileSync(CONFIG_FILE, "utf8")).text_config as Record<string, unknown>;
const cfg = parseRobertaConfig(textConfigJson, "koclip-tiny/model/config.json text_config");
const golden = loadGolden("koclip-tiny");
const batch = goldenTextBatch(golden);

/** The checkpoint's `text_model.*` tensors only: this test builds the text tower alone. */
function textTowerStore(): VarStore {
  const all = readSafetensors(fixture("koclip-tiny", "model", "model.safetensors"));
  const text = new Map<string, RawTensor>([...all].filter(([name]) => name.startsWith("text_model.")));
  return VarStore.fromSource(mapSource(text), { file: "koclip-tiny/model.safetensors" });
}

describe("RobertaModel vs Hugging Face (koclip-tiny text tower)", () => {
  const store = textTowerStore();
  const model = new RobertaModel(store.root.pp("text_model"), cfg);

  test("loads every text_model tensor, strictly", () => {
    store.assertAllUsed(isRobertaBuffer);
    assert.equal(model.positionIds, "padding-offset");
  });

  test("last_hidden_state and pooler_output match to 1e-4", () => {
    T.noGrad(() =>
      T.tidy(() => {
        const out = model.forward(batch);
        const dh = maxAbsDiff(out.lastHiddenState, golden.get("text_last_hidden_state"));
        const dp = maxAbsDiff(out.pooledOutput, golden.get("text_pooler_output"));
        console.log(`roberta parity: last_hidden_state max abs diff ${dh.toExponential(2)}, pooler_output ${dp.toExponential(2)}`);
        assertClose(out.lastHiddenState, golden.get("text_last_hidden_state"), 1e-4, "text_last_hidden_state");
        assertClose(out.pooledOutput, golden.get("text_pooler_output"), 1e-4, "text_pooler_output");
      }),
    );
  });

  test("the golden batch is padded, so the pad handling is exercised", () => {
    const mask = batch.attentionMask.toArray();
    assert.ok(mask.includes(0), "some positions are padding");
    const ids = batch.inputIds.toArray();
    mask.forEach((m, i) => assert.equal(m === 0, ids[i] === cfg.pad_token_id, `position ${i}: pad id iff masked`));
  });

  test("from-zero position ids change the output and equal explicit arange ids", () => {
    // Same store, so the same weights: VarStore hands back parameters it already created.
    const fromZero = new RobertaModel(store.root.pp("text_model"), cfg, { positionIds: "from-zero" });
    T.noGrad(() =>
      T.tidy(() => {
        const [b, t] = batch.inputIds.shape as [number, number];
        const rows = Array.from({ length: b }, () => Array.from({ length: t }, (_, j) => j));
        const explicit = T.tensor(rows, { dtype: "int64" });
        const a = fromZero.forward(batch).lastHiddenState;
        const e = model.forward({ ...batch, positionIds: explicit }).lastHiddenState;
        const offset = model.forward(batch).lastHiddenState;
        assert.ok(maxAbsDiff(a, offset) > 1e-2, "from-zero differs from padding-offset");
        assert.equal(maxAbsDiff(a, e), 0, "from-zero equals explicit 0..T-1 ids");
      }),
    );
  });

  test("an explicit tokenTypeIds of zeros is the default", () => {
    T.noGrad(() =>
      T.tidy(() => {
        const a = model.forward(batch).pooledOutput;
        const b = model.forward({ ...batch, tokenTypeIds: T.zerosLike(batch.inputIds) }).pooledOutput;
        assert.equal(maxAbsDiff(a, b), 0);
      }),
    );
  });
});

describe("position ids", () => {
  test("padding-offset counts real tokens from padding_idx + 1 and leaves pads at padding_idx", () => {
    T.tidy(() => {
      const ids = T.tensor([[0, 7, 9, 2, 1, 1], [0, 5, 2, 1, 1, 1]], { dtype: "int64" });
      assert.deepEqual(robertaPositionIds(ids, "padding-offset", 1).toArray(), [2, 3, 4, 5, 1, 1, 2, 3, 4, 1, 1, 1]);
      assert.deepEqual(robertaPositionIds(ids, "from-zero", 1).toArray(), [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
    });
  });

  test("defaults per model_type", () => {
    assert.equal(defaultPositionIds("roberta"), "padding-offset");
    assert.equal(defaultPositionIds("xlm-roberta"), "padding-offset");
    assert.equal(defaultPositionIds("bert"), "from-zero");
  });
});

describe("config parsing", () => {
  test("reads the fixture's text_config", () => {
    assert.equal(cfg.model_type, "roberta");
    assert.equal(cfg.hidden_size, 32);
    assert.equal(cfg.intermediate_size, 37);
    assert.equal(cfg.type_vocab_size, 1);
    assert.equal(cfg.pad_token_id, 1);
    assert.equal(cfg.vocab_size, 1727);
    assert.equal(cfg.layer_norm_eps, 1e-12);
  });

  test("a BERT config gets BERT's defaults and counts positions from zero", () => {
    const bert = parseRobertaConfig({ model_type: "bert", vocab_size: 100, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 24, max_position_embeddings: 20 }, "bert/config.json");
    assert.equal(bert.pad_token_id, 0);
    assert.equal(bert.type_vocab_size, 2);
    assert.equal(bert.layer_norm_eps, 1e-12);
    assert.equal(bert.hidden_act, "gelu");
    // A fresh BERT and a RoBERTa told to count from zero are the same function of the same weights.
    T.manualSeed(3);
    const store = VarStore.fresh({ trainable: false });
    const asBert = new RobertaModel(store.root, bert);
    assert.equal(asBert.positionIds, "from-zero");
    const asRoberta = new RobertaModel(store.root, { ...bert, model_type: "roberta" }, { positionIds: "from-zero" });
    T.noGrad(() =>
      T.tidy(() => {
        const ids = T.tensor([[5, 6, 7, 8, 0, 0], [9, 10, 11, 12, 13, 14]], { dtype: "int64" });
        const mask = ids.ne(0).toDtype("int64");
        const a = asBert.forward({ inputIds: ids, attentionMask: mask });
        const b = asRoberta.forward({ inputIds: ids, attentionMask: mask });
        assert.deepEqual(a.lastHiddenState.shape, [2, 6, 16]);
        assert.equal(maxAbsDiff(a.lastHiddenState, b.lastHiddenState), 0);
        assert.equal(maxAbsDiff(a.pooledOutput, b.pooledOutput), 0);
      }),
    );
    store.dispose();
  });

  test("missing fields take Hugging Face's defaults for the model_type", () => {
    const r = parseRobertaConfig({ model_type: "xlm-roberta" });
    assert.equal(r.pad_token_id, 1);
    assert.equal(r.hidden_size, 768);
    assert.equal(r.max_position_embeddings, 512);
    assert.equal(r.position_embedding_type, "absolute");
  });

  test("an unknown hidden_act names the file and lists the allowed values", () => {
    assert.throws(
      () => parseRobertaConfig({ ...textConfigJson, hidden_act: "swish" }, "koclip-tiny/config.json", "text_config."),
      (e: Error) => {
        assert.match(e.message, /^koclip-tiny\/config\.json: text_config\.hidden_act must be one of gelu, /);
        assert.match(e.message, /one of gelu, gelu_new, gelu_pytorch_tanh, quick_gelu, relu, got "swish"$/);
        return true;
      },
    );
  });

  test("bad fields are named with the file", () => {
    assert.throws(() => parseRobertaConfig({ ...textConfigJson, hidden_size: "32" }, "c.json"), /^ConfigError: c\.json: hidden_size must be a positive integer, got "32"$/);
    assert.throws(() => parseRobertaConfig({ ...textConfigJson, num_attention_heads: 5 }, "c.json"), /c\.json: hidden_size 32 is not a multiple of num_attention_heads 5/);
    assert.throws(() => parseRobertaConfig({ ...textConfigJson, model_type: "gpt2" }, "c.json"), /c\.json: model_type must be one of roberta, xlm-roberta, bert, got "gpt2"/);
    assert.throws(() => parseRobertaConfig({ ...textConfigJson, position_embedding_type: "relative_key" }, "c.json"), /c\.json: position_embedding_type must be one of absolute, got "relative_key"/);
    assert.throws(() => parseRobertaConfig([], "c.json"), /c\.json: config must be a JSON object, got \[\]/);
  });

  test("presets are valid configs", () => {
    for (const p of [klueRobertaLarge(), xlmRobertaBase()]) assert.deepEqual(parseRobertaConfig(p, "preset"), p);
    assert.equal(klueRobertaLarge().max_position_embeddings, 512);
  });
});

describe("loading errors", () => {
  test("a shape mismatch is one line naming the tensor", () => {
    const wrong: RobertaConfig = { ...cfg, intermediate_size: 38 };
    assert.throws(
      () => new RobertaModel(textTowerStore().root.pp("text_model"), wrong),
      (e: Error) => {
        assert.ok(!e.message.includes("\n"), "one line");
        assert.match(e.message, /'text_model\.encoder\.layer\.0\.intermediate\.dense\.weight' has shape \[37,32\] but the config implies \[38,32\]/);
        return true;
      },
    );
  });

  test("a model without a pooler leaves the pooler's tensors unused, and strict loading says so", () => {
    const store = textTowerStore();
    new RobertaModel(store.root.pp("text_model"), cfg, { addPoolingLayer: false });
    assert.throws(() => store.assertAllUsed(isRobertaBuffer), /unexpected tensors not used by the model: text_model\.pooler\.dense\.(weight|bias)/);
  });

  test("a sequence longer than the position table allows is a clear error", () => {
    const store = textTowerStore();
    const model = new RobertaModel(store.root.pp("text_model"), cfg);
    assert.equal(model.maxSequenceLength, 40 - 1 - 1);
    T.tidy(() => {
      const ids = T.full([1, 39], 5, "int64");
      assert.throws(() => model.forward({ inputIds: ids, attentionMask: T.onesLike(ids) }), /sequence length 39 exceeds the 38 tokens its position table holds \(max_position_embeddings 40, padding-offset position ids\)/);
    });
    store.dispose();
  });

  test("old checkpoints' position_ids buffers are recognised as buffers", () => {
    assert.ok(isRobertaBuffer("transformer.embeddings.position_ids"));
    assert.ok(isRobertaBuffer("embeddings.token_type_ids"));
    assert.ok(!isRobertaBuffer("text_model.embeddings.position_embeddings.weight"));
  });
});

describe("training and memory", () => {
  test("gradients reach every parameter, and dropout acts only when training", () => {
    T.manualSeed(11);
    const small = parseRobertaConfig({ ...textConfigJson, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 }, "small");
    const store = VarStore.fresh({ trainable: true });
    const model = new RobertaModel(store.root, small);
    T.tidy(() => {
      const eval1 = T.noGrad(() => model.forward(batch).pooledOutput);
      const eval2 = T.noGrad(() => model.forward(batch).pooledOutput);
      assert.equal(maxAbsDiff(eval1, eval2), 0, "eval is deterministic");
      model.training = true;
      const out = model.forward(batch);
      assert.ok(maxAbsDiff(out.pooledOutput.detach(), eval1) > 0, "dropout changes the training forward");
      out.pooledOutput.sum().add(out.lastHiddenState.square().mean()).backward();
      model.training = false;
    });
    for (const [name, p] of store.vars) {
      const g = p.grad;
      assert.ok(g !== null, `${name} has a gradient`);
      g.dispose();
    }
    store.dispose();
  });

  test("a forward inside tidy leaves no tensors behind", () => {
    const store = textTowerStore();
    const model = new RobertaModel(store.root.pp("text_model"), cfg);
    T.noGrad(() => T.tidy(() => model.forward(batch))); // warm-up
    const before = T.liveTensors();
    T.noGrad(() => T.tidy(() => { model.forward(batch); }));
    assert.equal(T.liveTensors(), before);
    store.dispose();
  });
});
