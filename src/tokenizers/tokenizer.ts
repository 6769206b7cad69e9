/**
 * `loadTokenizer(dir)`: a Hugging Face tokenizer folder as a typed {@link Tokenizer}.
 *
 * The backend (tokenizers.js, patched in backend.ts) turns text into tokens; this file resolves the
 * special tokens and limits from the two JSON files and does truncation, post-processing and padding
 * the way transformers' `tokenizer(texts, padding=..., truncation=True, max_length=N)` does.
 */
import { backendArguments, createBackend, type Backend } from "./backend.js";
import { padRows, planEncode, truncate, type EncodePlan } from "./batch.js";
import { readTokenizerFiles, TOKENIZER_KINDS, type TokenizerFiles } from "./config.js";
import type { DecodeOptions, EncodedBatch, EncodeOptions, Side, Tokenizer, TokenizerKind } from "./types.js";

/**
 * transformers stores `model_max_length = int(1e30)` when a checkpoint sets no limit; no real
 * context is anywhere near a billion tokens, so anything from here up means "unset".
 */
const UNSET_MODEL_MAX_LENGTH = 1e9;

/** Used when no limit is set: BERT's and XLM-R's position count. CLIP folders always set 77. */
const FALLBACK_MODEL_MAX_LENGTH = 512;

/**
 * Loads `dir/tokenizer.json` (+ `tokenizer_config.json` when present).
 *
 * ```ts
 * const tok = await loadTokenizer("../shared/fixtures/hf/tokenizers/clip-bpe");
 * tok.encodeBatch(["a photo of a dog"], { padding: "max_length", maxLength: 12 }).ids[0];
 * // [0, 301, 418, 412, 301, 69, 80, 277, 1, 1, 1, 1]
 * ```
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const files = await readTokenizerFiles(dir);
  return new HfTokenizer(files, createBackend(files));
}

/**
 * What a browser page needs to tokenise one text as `encode(text, { truncation: true, maxLength })`
 * does, with tokenizers.js loaded by the page itself (koclip export site): the library's
 * constructor arguments, the truncation side and the id of unknown tokens.
 */
export interface BrowserTokenizerSpec {
  json: Record<string, unknown>;
  config: { eos_token?: string; additional_special_tokens: string[] };
  truncationSide: Side;
  unkTokenId: number | undefined;
}

/** The BrowserTokenizerSpec of the tokenizer folder `dir`. */
export async function browserTokenizerSpec(dir: string): Promise<BrowserTokenizerSpec> {
  const files = await readTokenizerFiles(dir);
  const tokenizer = new HfTokenizer(files, createBackend(files));
  return { ...backendArguments(files), truncationSide: tokenizer.truncationSide, unkTokenId: tokenizer.unkTokenId };
}

class HfTokenizer implements Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly unkTokenId?: number;
  readonly modelMaxLength: number;

  private readonly backend: Backend;
  private readonly dir: string;
  private readonly padId: number | undefined;
  private readonly paddingSide: Side;
  /** Which end truncation cuts (tokenizer_config `truncation_side`, else tokenizer.json's, else right). */
  readonly truncationSide: Side;
  private readonly cleanUpSpaces: boolean;
  /** How many tokens the post-processor adds to a single sequence (2 for `[CLS] … [SEP]`). */
  private readonly numSpecialTokens: number;

  constructor(files: TokenizerFiles, backend: Backend) {
    const { json, config, configPath, jsonPath } = files;
    this.backend = backend;
    this.dir = files.dir;
    this.kind = TOKENIZER_KINDS[json.model.type];
    // Ids are dense in HF vocabularies; max + 1 still covers a gap left by an added token.
    let maxId = -1;
    for (const id of backend.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    const idOf = (token: string | undefined, what: string, file: string): number | undefined => {
      if (token === undefined) return undefined;
      const id = backend.token_to_id(token);
      if (id === undefined) throw new Error(`${file}: ${what} ${JSON.stringify(token)} is not in the vocabulary of ${jsonPath}`);
      return id;
    };
    this.bosTokenId = idOf(config.bos_token, "bos_token", configPath);
    this.eosTokenId = idOf(config.eos_token, "eos_token", configPath);
    this.unkTokenId =
      idOf(config.unk_token, "unk_token", configPath) ??
      idOf(json.model.unk_token, "model.unk_token", jsonPath) ??
      json.model.unk_id;
    // transformers takes pad_token from the config, else from tokenizer.json's saved padding. With
    // neither we pad with eos, as CLIP checkpoints do, so a GPT-like folder still batches.
    this.padId =
      idOf(config.pad_token, "pad_token", configPath) ??
      idOf(json.padding?.pad_token, "padding.pad_token", jsonPath) ??
      json.padding?.pad_id ??
      this.eosTokenId;

    const limit = config.model_max_length;
    this.modelMaxLength =
      limit !== undefined && limit >= 1 && limit < UNSET_MODEL_MAX_LENGTH
        ? Math.floor(limit)
        : (json.truncation?.max_length ?? FALLBACK_MODEL_MAX_LENGTH);
    this.paddingSide = config.padding_side ?? json.padding?.direction ?? "right";
    this.truncationSide = config.truncation_side ?? json.truncation?.direction ?? "right";
    // transformers has defaulted this to false since 4.45; the WordPiece decoder cleans up anyway.
    this.cleanUpSpaces = config.clean_up_tokenization_spaces ?? false;
    this.numSpecialTokens = this.addSpecialTokens([], true).length;
  }

  /**
   * With no pad token, eos or saved padding in the folder this throws, as HF refuses with "Asking
   * to pad but the tokenizer does not have a padding token"; unpadded encoding still works.
   */
  get padTokenId(): number {
    if (this.padId === undefined) {
      throw new Error(
        `${this.dir}: no pad token (tokenizer_config.json sets no pad_token or eos_token, tokenizer.json saves no padding); cannot pad`,
      );
    }
    return this.padId;
  }

  tokenize(text: string): string[] {
    return this.backend.tokenize(text);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const plan = planEncode(opts, this.modelMaxLength, false);
    return this.pad([this.encodeRow(text, plan)], plan).ids[0];
  }

  encodeBatch(texts: string[], opts: EncodeOptions = {}): EncodedBatch {
    const plan = planEncode(opts, this.modelMaxLength, "longest");
    return this.pad(
      texts.map((t) => this.encodeRow(t, plan)),
      plan,
    );
  }

  decode(ids: number[], opts: DecodeOptions = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`tokenizer: cannot decode id ${id} (vocabulary has ids 0..${this.vocabSize - 1})`);
      }
    }
    // tokenizers.js rejects an empty list; HF returns "".
    if (ids.length === 0) return "";
    return this.backend.decode(ids, {
      skip_special_tokens: opts.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
    });
  }

  idToToken(id: number): string | undefined {
    return this.backend.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.backend.token_to_id(token);
  }

  private encodeRow(text: string, plan: EncodePlan): number[] {
    let tokens = this.backend.tokenize(text);
    if (plan.truncateTo !== undefined) {
      const room = plan.truncateTo - (plan.addSpecialTokens ? this.numSpecialTokens : 0);
      if (room < 0) {
        throw new RangeError(`tokenizer: maxLength ${plan.truncateTo} leaves no room for the ${this.numSpecialTokens} special tokens`);
      }
      tokens = truncate(tokens, room, this.truncationSide);
    }
    return this.addSpecialTokens(tokens, plan.addSpecialTokens).map((t) => this.idForToken(t));
  }

  private addSpecialTokens(tokens: string[], add: boolean): string[] {
    const post = this.backend.post_processor;
    return post ? post.post_process(tokens, null, add).tokens : tokens;
  }

  /**
   * The backend works in token strings. A Unigram unknown comes back as its raw text ("🐶", as in
   * Rust, which keeps the text and sets the unk id), so a miss means unk.
   */
  private idForToken(token: string): number {
    const id = this.backend.token_to_id(token) ?? this.unkTokenId;
    if (id === undefined) throw new Error(`tokenizer: ${JSON.stringify(token)} is not in the vocabulary and there is no unk token`);
    return id;
  }

  private pad(rows: number[][], plan: EncodePlan): EncodedBatch {
    // Unpadded rows need no pad token, so a folder without one can still encode them.
    const padId = plan.padding === false ? -1 : this.padTokenId;
    return padRows(rows, { padding: plan.padding, maxLength: plan.maxLength, padId, side: this.paddingSide });
  }
}
