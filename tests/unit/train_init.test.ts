/**
 * Starting a run from a full model with a new tokenizer (src/train/init.ts): shared pieces keep
 * their embedding rows, new pieces start fresh, and every other tensor is the model's.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadModel } from "../../src/models/load.js";
import type { PretrainedModel } from "../../src/models/pretrained.js";
import { loadTokenizer } from "../../src/tokenizers/index.js";
import { trainWordPiece, writeWordPieceTokenizer } from "../../src/tokenizers/train_wordpiece.js";
import { resolveTrainConfig } from "../../src/train/config.js";
import { initModel } from "../../src/train/init.js";
import { fixture } from "../helpers/fixtures.js";

const MODEL = fixture("koclip-tiny", "model");
const TABLE = "text_model.embeddings.word_embeddings.weight";
const dir = mkdtempSync(join(tmpdir(), "koclip-vocab-"));
let original: PretrainedModel;
let retokenized: PretrainedModel;
const logged: string[] = [];

before(async () => {
  // The fixture's tokenizer knows a few thousand klue pieces; this one adds English words.
  const captions = ["고양이 얼굴", "cat face", "강아지", "dog face", "사과", "apple", "grinning face"];
  writeWordPieceTokenizer(dir, trainWordPiece([...captions, ...captions], { vocabSize: 80 }));
  original = await loadModel(MODEL);
  const cfg = resolveTrainConfig({ data: "unused.jsonl", out: join(dir, "out"), model: MODEL, tokenizer: dir, seed: 5 });
  retokenized = await initModel(cfg, (line) => logged.push(line));
});
after(() => {
  original.encoder.store.dispose();
  retokenized.encoder.store.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("pieces both vocabularies share keep their rows; the table has the new tokenizer's size", async () => {
  const oldTok = await loadTokenizer(MODEL);
  const newTok = retokenized.tokenizer;
  const oldTable = original.encoder.store.vars.get(TABLE)!, newTable = retokenized.encoder.store.vars.get(TABLE)!;
  assert.deepEqual(newTable.shape, [newTok.vocabSize, oldTable.shape[1]]);
  const width = oldTable.shape[1]!;
  const oldRows = oldTable.toFloat32Array(), newRows = newTable.toFloat32Array();
  let shared = 0, fresh = 0;
  for (let id = 0; id < newTok.vocabSize; id++) {
    const oldId = oldTok.tokenToId(newTok.idToToken(id)!);
    const row = newRows.subarray(id * width, (id + 1) * width);
    if (oldId !== undefined) {
      assert.deepEqual(row, oldRows.subarray(oldId * width, (oldId + 1) * width), `row of '${newTok.idToToken(id)}'`);
      shared++;
    } else {
      assert.ok(row.some((v) => v !== 0), `'${newTok.idToToken(id)}' starts random, not zero`);
      fresh++;
    }
  }
  assert.ok(shared > 5 && fresh > 5, `${shared} shared, ${fresh} fresh`);
  assert.match(logged.join("\n"), new RegExp(`${shared} of ${newTok.vocabSize} pieces copied`));
});

test("every other tensor is the model's, and the new tokenizer encodes English as words", () => {
  for (const [name, t] of original.encoder.store.vars) {
    if (name === TABLE) continue;
    assert.deepEqual(retokenized.encoder.store.vars.get(name)!.toFloat32Array(), t.toFloat32Array(), name);
  }
  assert.deepEqual(retokenized.tokenizer.tokenize("cat face"), ["cat", "face"]);
  assert.equal((retokenized.configJson.text_config as Record<string, unknown>).vocab_size, retokenized.tokenizer.vocabSize);
});
