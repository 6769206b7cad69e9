// The static site's query tokeniser (web/site/tokenize.js on tokenizers.js, as the page runs it)
// against HF transformers' goldens and against koclip's own tokenizer for the models' folders.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { browserTokenizerSpec, loadTokenizer } from "../../src/tokenizers/index.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";

type Encoder = (text: string) => number[];
const { makeEncoder } = (await import(pathToFileURL(join(REPO_ROOT, "web", "site", "tokenize.js")).href)) as {
  makeEncoder(tokenizer: unknown, settings: { maxLength: number; truncationSide: string; unkTokenId?: number }): Encoder;
};

/** The page's encoder for the tokenizer folder `dir`, truncating to `maxLength`. */
async function pageEncoder(dir: string, maxLength: number): Promise<Encoder> {
  const spec = await browserTokenizerSpec(dir);
  return makeEncoder(new Tokenizer(spec.json, spec.config), { maxLength, truncationSide: spec.truncationSide, unkTokenId: spec.unkTokenId });
}

const GOLDEN = JSON.parse(readFileSync(fixture("tokenizers", "golden.json"), "utf8")) as Record<string, { text: string; ids: number[]; ids_truncated: number[]; max_length: number }[]>;

for (const [name, cases] of Object.entries(GOLDEN)) {
  test(`site tokenizer, ${name}: ids and truncated ids equal HF's`, async () => {
    const dir = fixture("tokenizers", name);
    const full = await pageEncoder(dir, 10_000);
    for (const c of cases) {
      assert.deepEqual(full(c.text), c.ids, `${JSON.stringify(c.text)}`);
      assert.deepEqual((await pageEncoder(dir, c.max_length))(c.text), c.ids_truncated, `${JSON.stringify(c.text)} truncated to ${c.max_length}`);
    }
  });
}

test("site tokenizer equals koclip's for the model folders (koclip-emoji, clip-tiny, mclip-tiny)", async () => {
  const texts = ["고양이", "바닷가에서 뛰어노는 강아지 두 마리와 빨간 공", "a photo of a dog", "😀 웃는 얼굴!!", ""];
  for (const dir of [join(REPO_ROOT, "models", "koclip-emoji"), fixture("clip-tiny", "model"), fixture("mclip-tiny", "model")]) {
    const ours = await loadTokenizer(dir);
    for (const maxLength of [6, 64]) {
      const page = await pageEncoder(dir, maxLength);
      for (const t of texts) assert.deepEqual(page(t), ours.encode(t, { truncation: true, maxLength }), `${dir}: ${JSON.stringify(t)} at ${maxLength}`);
    }
  }
});
