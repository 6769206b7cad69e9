/**
 * Tokenizers against HF transformers 5.17 goldens: every case of tokenizers/golden.json (ids,
 * tokens, truncation to 12, decode), and the padded batches stored in each tiny model's
 * golden.safetensors. Then padding/truncation rules and load errors on temporary folders.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readSafetensors } from "../../src/formats/safetensors.js";
import { padRows, planEncode, truncate } from "../../src/tokenizers/batch.js";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizers/index.js";
import { fixture } from "../helpers/fixtures.js";

interface GoldenCase {
  text: string;
  ids: number[];
  tokens: string[];
  ids_truncated: number[];
  max_length: number;
  decoded: string;
}

const GOLDEN = JSON.parse(readFileSync(fixture("tokenizers", "golden.json"), "utf8")) as Record<string, GoldenCase[]>;

/** What each fixture folder should resolve to; ids read off its tokenizer_config.json and vocab. */
const EXPECTED = {
  wordpiece: { kind: "wordpiece", vocabSize: 1727, padTokenId: 1, bosTokenId: 0, eosTokenId: 2, unkTokenId: 3, modelMaxLength: 512 },
  "clip-bpe": { kind: "bpe", vocabSize: 1200, padTokenId: 1, bosTokenId: 0, eosTokenId: 1, unkTokenId: 1, modelMaxLength: 77 },
  unigram: { kind: "unigram", vocabSize: 1400, padTokenId: 1, bosTokenId: 0, eosTokenId: 2, unkTokenId: 3, modelMaxLength: 512 },
} as const;

const loaded = new Map<string, Promise<Tokenizer>>();
function load(dir: string): Promise<Tokenizer> {
  if (!loaded.has(dir)) loaded.set(dir, loadTokenizer(dir));
  return loaded.get(dir)!;
}

for (const [name, expected] of Object.entries(EXPECTED)) {
  describe(`golden ${name}`, () => {
    test("loads with the right kind, vocabulary and special ids", async () => {
      const tok = await load(fixture("tokenizers", name));
      assert.deepEqual(
        {
          kind: tok.kind,
          vocabSize: tok.vocabSize,
          padTokenId: tok.padTokenId,
          bosTokenId: tok.bosTokenId,
          eosTokenId: tok.eosTokenId,
          unkTokenId: tok.unkTokenId,
          modelMaxLength: tok.modelMaxLength,
        },
        expected,
      );
    });

    for (const c of GOLDEN[name]) {
      test(`case ${JSON.stringify(c.text.length > 40 ? c.text.slice(0, 40) + "…" : c.text)}`, async () => {
        const tok = await load(fixture("tokenizers", name));
        assert.deepEqual(tok.encode(c.text), c.ids, "ids");
        assert.deepEqual(
          c.ids.map((id) => tok.idToToken(id)),
          c.tokens,
          "tokens (convert_ids_to_tokens)",
        );
        assert.deepEqual(tok.encode(c.text, { truncation: true, maxLength: c.max_length }), c.ids_truncated, "ids_truncated");
        assert.equal(tok.decode(c.ids, { skipSpecialTokens: true }), c.decoded, "decoded");
      });
    }
  });
}

describe("model folders reproduce golden.safetensors input_ids / attention_mask", () => {
  for (const model of ["koclip-tiny", "clip-tiny", "mclip-tiny"]) {
    test(model, async () => {
      const tok = await loadTokenizer(fixture(model, "model"));
      const texts = (JSON.parse(readFileSync(fixture(model, "golden.json"), "utf8")) as { texts: string[] }).texts;
      const golden = readSafetensors(fixture(model, "golden.safetensors"));
      const batch = tok.encodeBatch(texts, { padding: "max_length", maxLength: 16, truncation: true });
      assert.equal(batch.length, 16);
      assert.deepEqual(batch.ids, int64Rows(golden.get("input_ids")!), "input_ids");
      assert.deepEqual(batch.attentionMask, int64Rows(golden.get("attention_mask")!), "attention_mask");
    });
  }
});

/** A 2-D I64 tensor as rows of numbers. */
function int64Rows(t: { dtype: string; shape: number[]; data: Uint8Array }): number[][] {
  assert.equal(t.dtype, "I64");
  const [rows, cols] = t.shape;
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => Number(view.getBigInt64((r * cols + c) * 8, true))),
  );
}

describe("encode options", () => {
  let tok: Tokenizer;
  before(async () => {
    tok = await load(fixture("tokenizers", "wordpiece"));
  });
  const short = "고양이 사진"; // [0, 116, 1242, 1004, 508, 1445, 2]
  const long = "강아지가 공원에서 뛰어놀고 있다."; // 17 ids

  test("encodeBatch pads to the longest row by default, on the right, with [PAD]", () => {
    const b = tok.encodeBatch([short, ""]);
    assert.equal(b.length, 7);
    assert.deepEqual(b.ids[1], [0, 2, 1, 1, 1, 1, 1]);
    assert.deepEqual(b.attentionMask[1], [1, 1, 0, 0, 0, 0, 0]);
    assert.deepEqual(b.attentionMask[0], [1, 1, 1, 1, 1, 1, 1]);
  });

  test("padding: false leaves rows ragged and reports the longest", () => {
    const b = tok.encodeBatch([short, ""], { padding: false });
    assert.deepEqual(b.ids, [[0, 116, 1242, 1004, 508, 1445, 2], [0, 2]]);
    assert.deepEqual(b.attentionMask, [[1, 1, 1, 1, 1, 1, 1], [1, 1]]);
    assert.equal(b.length, 7);
  });

  test("max_length padding without truncation keeps long rows and pads to them", () => {
    const b = tok.encodeBatch([short, long], { padding: "max_length", maxLength: 12, truncation: false });
    assert.equal(b.length, 17);
    assert.equal(b.ids[0].length, 17);
  });

  test("an explicit maxLength truncates unless truncation: false", () => {
    const truncated = GOLDEN.wordpiece[1].ids_truncated;
    assert.deepEqual(tok.encode(long, { maxLength: 12 }), truncated);
    assert.equal(tok.encode(long, { maxLength: 12, truncation: false }).length, 17);
  });

  test("truncation without maxLength uses modelMaxLength", () => {
    assert.equal(tok.encode("아주 ".repeat(600), { truncation: true }).length, 512);
  });

  test("encode pads a single row only with padding: max_length", () => {
    assert.deepEqual(tok.encode(short, { padding: "max_length", maxLength: 9 }), [0, 116, 1242, 1004, 508, 1445, 2, 1, 1]);
    assert.deepEqual(tok.encode(short, { padding: "longest", maxLength: 9 }), [0, 116, 1242, 1004, 508, 1445, 2]);
  });

  test("addSpecialTokens: false drops [CLS]/[SEP] and gives truncation the whole budget", () => {
    assert.deepEqual(tok.encode(short, { addSpecialTokens: false }), [116, 1242, 1004, 508, 1445]);
    assert.deepEqual(tok.encode(short, { addSpecialTokens: false, maxLength: 3 }), [116, 1242, 1004]);
  });

  test("maxLength smaller than the special tokens is an error", () => {
    assert.throws(() => tok.encode(short, { maxLength: 1 }), /maxLength 1 leaves no room for the 2 special tokens/);
    assert.deepEqual(tok.encode(short, { maxLength: 2 }), [0, 2]);
    assert.throws(() => tok.encode(short, { maxLength: 0 }), /positive integer/);
  });

  test("tokenize has no special tokens; decode keeps them unless asked", () => {
    assert.deepEqual(tok.tokenize(short), ["고", "##양", "##이", "사", "##진"]);
    assert.equal(tok.decode([0, 116, 1242, 2]), "[CLS] 고양 [SEP]");
    assert.equal(tok.decode([0, 116, 1242, 2], { skipSpecialTokens: true }), "고양");
    assert.equal(tok.decode([]), "");
    assert.throws(() => tok.decode([1727]), /cannot decode id 1727 \(vocabulary has ids 0\.\.1726\)/);
    assert.equal(tok.tokenToId("[PAD]"), 1);
    assert.equal(tok.tokenToId("no-such-token"), undefined);
  });

  test("unigram tokenize keeps an unknown piece's text, as Rust does; its id is unk", async () => {
    const uni = await load(fixture("tokenizers", "unigram"));
    assert.deepEqual(uni.tokenize("🐶 강아지"), ["▁", "🐶", "▁", "강", "아", "지"]);
    assert.deepEqual(uni.encode("🐶"), [0, 5, 3, 2]);
  });
});

describe("folder settings and load errors", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "koclip-tok-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A copy of the wordpiece fixture with tokenizer_config.json replaced (or removed, for null). */
  async function wordpieceWith(name: string, config: Record<string, unknown> | null): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir);
    await copyFile(fixture("tokenizers", "wordpiece", "tokenizer.json"), join(dir, "tokenizer.json"));
    if (config !== null) await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(config));
    return dir;
  }
  const baseConfig = JSON.parse(readFileSync(fixture("tokenizers", "wordpiece", "tokenizer_config.json"), "utf8"));

  test("padding_side and truncation_side left", async () => {
    const dir = await wordpieceWith("left", { ...baseConfig, padding_side: "left", truncation_side: "left" });
    const tok = await loadTokenizer(dir);
    const b = tok.encodeBatch(["고양이 사진", ""]);
    assert.deepEqual(b.ids[1], [1, 1, 1, 1, 1, 0, 2]);
    assert.deepEqual(b.attentionMask[1], [0, 0, 0, 0, 0, 1, 1]);
    // Left truncation drops from the start of the text, still inside [CLS] … [SEP].
    assert.deepEqual(tok.encode("고양이 사진", { maxLength: 4 }), [0, 508, 1445, 2]);
  });

  test("HF's unset model_max_length sentinel falls back to 512", async () => {
    const dir = await wordpieceWith("sentinel", { ...baseConfig, model_max_length: 1e30 });
    assert.equal((await loadTokenizer(dir)).modelMaxLength, 512);
  });

  test("without tokenizer_config.json it still encodes, but cannot pad", async () => {
    const tok = await loadTokenizer(await wordpieceWith("noconfig", null));
    assert.equal(tok.modelMaxLength, 512);
    assert.equal(tok.bosTokenId, undefined);
    assert.equal(tok.unkTokenId, 3); // from tokenizer.json model.unk_token
    assert.deepEqual(tok.encode("고양이"), [0, 116, 1242, 1004, 2]);
    assert.throws(() => tok.encodeBatch(["고양이", ""]), /noconfig: no pad token/);
  });

  test("missing tokenizer.json names the file", async () => {
    const dir = join(root, "empty");
    await mkdir(dir);
    await assert.rejects(loadTokenizer(dir), (e: Error) => {
      assert.match(e.message, /empty\/tokenizer\.json: not found/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  });

  test("invalid JSON names the file", async () => {
    const dir = await wordpieceWith("badjson", null);
    await writeFile(join(dir, "tokenizer_config.json"), "{ nope");
    await assert.rejects(loadTokenizer(dir), /badjson\/tokenizer_config\.json: invalid JSON/);
  });

  test("an unsupported model type lists the supported ones", async () => {
    const dir = join(root, "wordlevel");
    await mkdir(dir);
    await writeFile(join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "WordLevel", vocab: {} } }));
    await assert.rejects(
      loadTokenizer(dir),
      /wordlevel\/tokenizer\.json: unsupported model\.type "WordLevel" \(supported: WordPiece, BPE, Unigram\)/,
    );
  });

  test("a pad_token missing from the vocabulary is an error", async () => {
    const dir = await wordpieceWith("badpad", { ...baseConfig, pad_token: "<nope>" });
    await assert.rejects(loadTokenizer(dir), /badpad\/tokenizer_config\.json: pad_token "<nope>" is not in the vocabulary/);
  });
});

describe("batch helpers", () => {
  test("truncate keeps the right or the left end", () => {
    assert.deepEqual(truncate([1, 2, 3], 2, "right"), [1, 2]);
    assert.deepEqual(truncate([1, 2, 3], 2, "left"), [2, 3]);
    assert.deepEqual(truncate([1], 2, "left"), [1]);
  });

  test("padRows pads and masks on either side", () => {
    assert.deepEqual(padRows([[7, 8], [9]], { padding: "max_length", maxLength: 3, padId: 0, side: "left" }), {
      ids: [[0, 7, 8], [0, 0, 9]],
      attentionMask: [[0, 1, 1], [0, 0, 1]],
      length: 3,
    });
    assert.deepEqual(padRows([], { padding: "longest", maxLength: 3, padId: 0, side: "right" }), {
      ids: [],
      attentionMask: [],
      length: 0,
    });
  });

  test("planEncode defaults", () => {
    assert.deepEqual(planEncode({}, 77, "longest"), { truncateTo: undefined, padding: "longest", maxLength: 77, addSpecialTokens: true });
    assert.deepEqual(planEncode({ truncation: true }, 77, false), { truncateTo: 77, padding: false, maxLength: 77, addSpecialTokens: true });
  });
});
