/**
 * The one place that touches `@huggingface/tokenizers` (tokenizers.js), a pure-JS port of the Rust
 * `tokenizers` crate that HF transformers runs. It does normalisation, pre-tokenisation, the
 * WordPiece/BPE/Unigram models, post-processing and decoding; the patches below close the gaps
 * where it departs from Rust on our fixtures (tests/unit/tokenizers.test.ts checks every case).
 */
import { Tokenizer as JsTokenizer } from "@huggingface/tokenizers";
import type { TokenizerFiles } from "./config.js";

/**
 * The slice of the tokenizers.js `Tokenizer` we call. Its shipped .d.ts files import each other
 * without file extensions, which `moduleResolution: NodeNext` refuses, so the import types as
 * `any`; this interface pins down what we rely on instead.
 */
export interface Backend {
  /** Normalise, split added tokens, pre-tokenise, run the model; no special tokens. */
  tokenize(text: string): string[];
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
  decode(ids: number[], opts: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string;
  post_processor: {
    post_process(tokens: string[], pair: string[] | null, addSpecialTokens: boolean): { tokens: string[] };
  } | null;
  decoder: { end_of_word_suffix: string | null } | null;
}

/**
 * Builds the backend for a parsed folder. Library errors (say, an unknown pre-tokenizer type)
 * come back as one line naming tokenizer.json.
 */
export function createBackend(files: TokenizerFiles): Backend {
  const { json, config } = backendArguments(files);
  let backend: Backend;
  try {
    backend = new JsTokenizer(json, config) as Backend;
  } catch (err) {
    throw new Error(`${files.jsonPath}: ${(err as Error).message}`);
  }
  // tokenizers.js copies BPE's `end_of_word_suffix` onto the decoder and turns it into spaces, as
  // the slow CLIPTokenizer does. Rust leaves the suffix to a `BPEDecoder` (which tokenizers.js
  // handles on its own), so a ByteLevel decoder keeps "</w>": the golden decode of "고양이 사진"
  // is "고양이</w>사진</w>".
  if (backend.decoder) backend.decoder.end_of_word_suffix = null;
  return backend;
}

/**
 * The two arguments of tokenizers.js's `new Tokenizer(json, config)` for a folder: tokenizer.json
 * with the normaliser rewrite below, and the config settings it should see. A browser page that
 * loads tokenizers.js itself (koclip export site) builds its tokenizer from these too.
 */
export function backendArguments(files: TokenizerFiles): { json: Record<string, unknown>; config: { eos_token?: string; additional_special_tokens: string[] } } {
  const { json, config } = files;
  // Only the settings transformers' Rust backend honours go in: tokenizers.js also reads slow-
  // tokenizer flags (`remove_space`, `do_lowercase_and_remove_accent`) that transformers 5 ignores
  // when a tokenizer.json is present. Unigram takes `eos_token` to build its lattice.
  return {
    json: { ...json.raw, normalizer: rewriteNormalizer(json.raw.normalizer) },
    config: { eos_token: config.eos_token, additional_special_tokens: config.additional_special_tokens ?? [] },
  };
}

/**
 * tokenizers.js has no `Nmt` normaliser (sentencepiece's, used by XLM-R and M-CLIP), and throws on
 * it. It is two character maps, so spell them as `Replace` rules it does run: drop the control
 * characters, turn the other whitespace-like ones into a plain space. Code points as in the Rust
 * crate's `normalizers/unicode.rs`.
 */
const NMT_AS_REPLACE = {
  type: "Sequence",
  normalizers: [
    { type: "Replace", pattern: { Regex: "[\\x{1}-\\x{8}\\x{B}\\x{E}-\\x{1F}\\x{7F}\\x{8F}\\x{9F}]" }, content: "" },
    {
      type: "Replace",
      pattern: { Regex: "[\\x{9}\\x{A}\\x{C}\\x{D}\\x{1680}\\x{200B}-\\x{200F}\\x{2028}\\x{2029}\\x{2581}\\x{FEFF}\\x{FFFD}]" },
      content: " ",
    },
  ],
};

function rewriteNormalizer(node: unknown): unknown {
  if (typeof node !== "object" || node === null) return node;
  const n = node as { type?: unknown; normalizers?: unknown };
  if (n.type === "Nmt") return NMT_AS_REPLACE;
  if (n.type === "Sequence" && Array.isArray(n.normalizers)) {
    return { ...n, normalizers: n.normalizers.map(rewriteNormalizer) };
  }
  return node;
}
