/**
 * Tokenizers loaded from a Hugging Face model folder (tokenizer.json + tokenizer_config.json).
 *
 * ```ts
 * import { loadTokenizer } from "./tokenizers/index.js";
 * const tok = await loadTokenizer("../shared/fixtures/hf/mclip-tiny/model");
 * tok.encode("고양이 사진"); // [0, 313, 22, 2]
 * ```
 */
export { browserTokenizerSpec, loadTokenizer, type BrowserTokenizerSpec } from "./tokenizer.js";
export { TOKENIZER_KINDS, type ModelType } from "./config.js";
export type { DecodeOptions, EncodedBatch, EncodeOptions, Side, Tokenizer, TokenizerKind } from "./types.js";
