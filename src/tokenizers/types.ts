/**
 * The tokenizer contract the text towers, the CLI and the server program against.
 *
 * Behaviour follows HF transformers' `tokenizer(...)` call on the same folder (which runs the Rust
 * `tokenizers` crate), so ids made here can be fed to a checkpoint trained in Python.
 */

/** Tokenizer families we load, named after tokenizer.json's `model.type` (lower-cased). */
export type TokenizerKind = "wordpiece" | "bpe" | "unigram";

/** Which end of a sequence padding or truncation works on (HF `padding_side`, `truncation_side`). */
export type Side = "left" | "right";

/**
 * Per-call options, as HF's `tokenizer(text, max_length=..., padding=..., truncation=...)`.
 *
 * One departure from HF: giving `maxLength` turns truncation on unless `truncation: false` is
 * passed, so `encode(text, { maxLength: 16 })` never returns more than 16 ids.
 */
export interface EncodeOptions {
  /** Length cap for truncation and the target for `padding: "max_length"`; defaults to `modelMaxLength`. */
  maxLength?: number;
  /** `"longest"` pads to the longest row, `"max_length"` to `maxLength`; `false` leaves rows ragged. */
  padding?: "longest" | "max_length" | false;
  /** Cut the text's tokens so the row, special tokens included, fits `maxLength`. */
  truncation?: boolean;
  /** Add the post-processor's special tokens (`[CLS] … [SEP]`, `<s> … </s>`); default true. */
  addSpecialTokens?: boolean;
}

/** A batch of rows; with padding on, every row has `length` entries. */
export interface EncodedBatch {
  ids: number[][];
  /** 1 for real tokens, 0 for padding, aligned with `ids`. */
  attentionMask: number[][];
  /** The padded length T; with `padding: false`, the longest row's length. */
  length: number;
}

/** Options for {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special tokens (`[CLS]`, `<pad>`, an unk that is special, …), as HF `skip_special_tokens`. */
  skipSpecialTokens?: boolean;
}

/**
 * A loaded tokenizer; get one from `loadTokenizer(dir)`.
 *
 * ```ts
 * const tok = await loadTokenizer("../shared/fixtures/hf/tokenizers/wordpiece");
 * tok.encode("고양이 사진"); // [0, 116, 1242, 1004, 508, 1445, 2]
 * ```
 */
export interface Tokenizer {
  /** From tokenizer.json `model.type`. */
  readonly kind: TokenizerKind;
  /** Ids run from 0 to vocabSize - 1, added tokens included (HF `len(tokenizer)`). */
  readonly vocabSize: number;
  /** tokenizer_config `pad_token`, else tokenizer.json's saved padding, else eos; throws if none. */
  readonly padTokenId: number;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly unkTokenId?: number;
  /** tokenizer_config `model_max_length`, or a fallback when the file leaves HF's "unset" sentinel. */
  readonly modelMaxLength: number;
  /** Tokens without special tokens, as HF `tokenizer.tokenize(text)`. */
  tokenize(text: string): string[];
  /** One row of ids; pads only with `padding: "max_length"`. */
  encode(text: string, opts?: EncodeOptions): number[];
  /** Rows plus attention masks; padding defaults to `"longest"` so the batch is rectangular. */
  encodeBatch(texts: string[], opts?: EncodeOptions): EncodedBatch;
  /** Text for ids, as HF `tokenizer.decode(ids, skip_special_tokens=...)`. */
  decode(ids: number[], opts?: DecodeOptions): string;
  /** The vocabulary entry for an id (HF `convert_ids_to_tokens`), or undefined when out of range. */
  idToToken(id: number): string | undefined;
  /** The id of a vocabulary entry or added token, or undefined when absent. */
  tokenToId(token: string): number | undefined;
}
