// The WordPiece trainer: deterministic vocabularies whose tokenizer.json our loader (and HF's
// format) reads, encoding Korean names into learned pieces and decoding them back.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadTokenizer } from "../../src/tokenizers/index.js";
import { preTokenize, trainWordPiece, writeWordPieceTokenizer } from "../../src/tokenizers/train_wordpiece.js";

const corpus = ["고양이 얼굴", "고양이", "웃는 고양이", "강아지 얼굴", "강아지", "빨간 사과", "초록 사과", "사과!"];

test("pre-tokenisation splits whitespace and punctuation", () => {
  assert.deepEqual(preTokenize("사과! 빨간  사과"), ["사과", "!", "빨간", "사과"]);
});

test("training is deterministic and learns frequent Korean words as single pieces", () => {
  const a = trainWordPiece(corpus, { vocabSize: 60 });
  const b = trainWordPiece([...corpus], { vocabSize: 60 });
  assert.deepEqual(a, b);
  assert.deepEqual(a.slice(0, 5), ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]"]);
  for (const word of ["고양이", "사과", "강아지"]) assert.ok(a.includes(word), `${word} in vocab`);
  assert.ok(a.includes("##양"), "continuation pieces carry ##");
});

test("frequency merges give English words pieces beside Korean; the likelihood score starves them", () => {
  // 20 two-syllable Korean words seen twice each (rare symbols), "cat face" seen 30 times.
  const mixed: string[] = [];
  for (let i = 0; i < 20; i++) mixed.push(...Array(2).fill(String.fromCharCode(0xac00 + 2 * i, 0xac01 + 2 * i)));
  for (let i = 0; i < 30; i++) mixed.push("cat face");
  const alphabet = trainWordPiece(mixed, { vocabSize: 1 }).length;
  const frequency = trainWordPiece(mixed, { vocabSize: alphabet + 6 });
  const likelihood = trainWordPiece(mixed, { vocabSize: alphabet + 6, mergeScore: "likelihood" });
  assert.ok(frequency.includes("face") && frequency.includes("cat"), "frequent English words are pieces");
  assert.ok(!likelihood.includes("face") && !likelihood.includes("cat"), "the budget went to rare Korean pairs");
  assert.ok(likelihood.includes(String.fromCharCode(0xac00, 0xac01)));
});

test("the written tokenizer loads, encodes with [CLS]/[SEP], pads with [PAD]=1 and decodes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "koclip-wp-"));
  try {
    const vocab = trainWordPiece(corpus, { vocabSize: 60 });
    writeWordPieceTokenizer(dir, vocab, { modelMaxLength: 16 });
    const tok = await loadTokenizer(dir);
    assert.equal(tok.kind, "wordpiece");
    assert.equal(tok.padTokenId, 1);
    const ids = tok.encode("웃는 고양이");
    assert.deepEqual([ids[0], ids.at(-2), ids.at(-1)], [0, vocab.indexOf("고양이"), 2]);
    assert.deepEqual(tok.tokenize("웃는 고양이").slice(-1), ["고양이"]);
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), "웃는 고양이");
    assert.deepEqual(tok.encode("고래"), [0, 3, 2], "a word with an unknown character is [UNK], as in WordPiece");
    const batch = tok.encodeBatch(["고양이", "빨간 사과"], { padding: "longest" });
    assert.deepEqual(batch.ids[0]!.slice(-1), [1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
