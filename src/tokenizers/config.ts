/**
 * Reading a Hugging Face tokenizer folder: `tokenizer.json` (required) and `tokenizer_config.json`
 * (optional), validated once here so the rest of the folder trusts the types.
 *
 * Field names keep the files' spelling. Only what our code reads is typed; the whole tokenizer.json
 * still travels, untouched, to the backend that runs the pipeline.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../formats/index.js";
import type { Side, TokenizerKind } from "./types.js";

/**
 * tokenizer.json `model.type` → our kind. transformers 5 writes `tokenizer_class:
 * "TokenizersBackend"` for every family, so the model type is what tells them apart.
 *
 * ```ts
 * TOKENIZER_KINDS.Unigram; // "unigram"
 * ```
 */
export const TOKENIZER_KINDS = {
  WordPiece: "wordpiece",
  BPE: "bpe",
  Unigram: "unigram",
} as const satisfies Record<string, TokenizerKind>;

/** A tokenizer.json `model.type` we can load. */
export type ModelType = keyof typeof TOKENIZER_KINDS;

/** The parts of tokenizer.json our code reads; `raw` is the whole file for the backend. */
export interface TokenizerJson {
  model: {
    type: ModelType;
    /** WordPiece and BPE name their unknown token. */
    unk_token?: string;
    /** Unigram points at it by index instead. */
    unk_id?: number;
  };
  /** Present when the file was saved with padding enabled; the direction is lower-cased here. */
  padding: { direction: Side; pad_id?: number; pad_token?: string } | null;
  truncation: { direction: Side; max_length?: number } | null;
  raw: Record<string, unknown>;
}

/**
 * tokenizer_config.json, as transformers reads it. Special tokens are stored either as strings or
 * as `{"content": ..., "__type": "AddedToken"}`; both become the string here.
 */
export interface TokenizerConfig {
  tokenizer_class?: string;
  model_max_length?: number;
  padding_side?: Side;
  truncation_side?: Side;
  clean_up_tokenization_spaces?: boolean;
  bos_token?: string;
  eos_token?: string;
  unk_token?: string;
  pad_token?: string;
  additional_special_tokens?: string[];
}

/** Both files of a folder, parsed, with their paths for error messages. */
export interface TokenizerFiles {
  dir: string;
  jsonPath: string;
  configPath: string;
  json: TokenizerJson;
  config: TokenizerConfig;
}

/**
 * Reads and validates `dir/tokenizer.json` and `dir/tokenizer_config.json`.
 * Errors are one line naming the file: `/m/tokenizer.json: not found (…)`.
 */
export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const jsonPath = join(dir, "tokenizer.json");
  const configPath = join(dir, "tokenizer_config.json");
  const rawJson = await readJson(jsonPath, "required");
  const rawConfig = await readJson(configPath, "optional");
  return {
    dir,
    jsonPath,
    configPath,
    json: parseTokenizerJson(rawJson, jsonPath),
    config: rawConfig === undefined ? {} : parseTokenizerConfig(rawConfig, configPath),
  };
}

async function readJson(path: string, need: "required" | "optional"): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && need === "optional") return undefined;
    if (code === "ENOENT") throw new ConfigError(`${path}: not found (a Hugging Face tokenizer folder needs tokenizer.json)`);
    throw new ConfigError(`${path}: cannot read (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: invalid JSON (${(err as Error).message})`);
  }
}

/** Validates tokenizer.json's shape; `file` only labels errors. */
export function parseTokenizerJson(json: unknown, file: string): TokenizerJson {
  const raw = expectObject(json, file, "the file");
  const model = expectObject(raw.model, file, "model");
  const type = model.type;
  if (typeof type !== "string" || !Object.hasOwn(TOKENIZER_KINDS, type)) {
    const got = typeof type === "string" ? `"${type}"` : "missing";
    throw new ConfigError(`${file}: unsupported model.type ${got} (supported: ${Object.keys(TOKENIZER_KINDS).join(", ")})`);
  }
  const padding = raw.padding == null ? null : expectObject(raw.padding, file, "padding");
  const truncation = raw.truncation == null ? null : expectObject(raw.truncation, file, "truncation");
  return {
    model: {
      type: type as ModelType,
      unk_token: optional(model.unk_token, "string", file, "model.unk_token"),
      unk_id: optional(model.unk_id, "number", file, "model.unk_id"),
    },
    padding: padding && {
      direction: parseDirection(padding.direction, file, "padding.direction"),
      pad_id: optional(padding.pad_id, "number", file, "padding.pad_id"),
      pad_token: optional(padding.pad_token, "string", file, "padding.pad_token"),
    },
    truncation: truncation && {
      direction: parseDirection(truncation.direction, file, "truncation.direction"),
      max_length: optional(truncation.max_length, "number", file, "truncation.max_length"),
    },
    raw,
  };
}

/** Validates tokenizer_config.json's fields that we use; unknown keys are ignored, as HF does. */
export function parseTokenizerConfig(json: unknown, file: string): TokenizerConfig {
  const raw = expectObject(json, file, "the file");
  const extra = raw.additional_special_tokens ?? raw.extra_special_tokens;
  return {
    tokenizer_class: optional(raw.tokenizer_class, "string", file, "tokenizer_class"),
    model_max_length: optional(raw.model_max_length, "number", file, "model_max_length"),
    padding_side: optionalSide(raw.padding_side, file, "padding_side"),
    truncation_side: optionalSide(raw.truncation_side, file, "truncation_side"),
    clean_up_tokenization_spaces: optional(raw.clean_up_tokenization_spaces, "boolean", file, "clean_up_tokenization_spaces"),
    bos_token: specialToken(raw.bos_token, file, "bos_token"),
    eos_token: specialToken(raw.eos_token, file, "eos_token"),
    unk_token: specialToken(raw.unk_token, file, "unk_token"),
    pad_token: specialToken(raw.pad_token, file, "pad_token"),
    // transformers 5 also accepts a dict form ({name: token}); only the tokens matter here.
    additional_special_tokens:
      extra == null
        ? undefined
        : (Array.isArray(extra) ? extra : Object.values(expectObject(extra, file, "extra_special_tokens")))
            .map((t, i) => specialToken(t, file, `additional_special_tokens[${i}]`))
            .filter((t): t is string => t !== undefined),
  };
}

function expectObject(value: unknown, file: string, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${file}: ${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function optional<T extends "string" | "number" | "boolean">(
  value: unknown,
  type: T,
  file: string,
  what: string,
): (T extends "string" ? string : T extends "number" ? number : boolean) | undefined {
  if (value == null) return undefined;
  if (typeof value !== type) throw new ConfigError(`${file}: ${what} must be a ${type}, got ${JSON.stringify(value)}`);
  return value as never;
}

function parseDirection(value: unknown, file: string, what: string): Side {
  // tokenizer.json spells directions "Left"/"Right" (Rust enum names); missing means right.
  if (value == null || value === "Right") return "right";
  if (value === "Left") return "left";
  throw new ConfigError(`${file}: ${what} must be "Left" or "Right", got ${JSON.stringify(value)}`);
}

function optionalSide(value: unknown, file: string, what: string): Side | undefined {
  if (value == null) return undefined;
  if (value === "left" || value === "right") return value;
  throw new ConfigError(`${file}: ${what} must be "left" or "right", got ${JSON.stringify(value)}`);
}

function specialToken(value: unknown, file: string, what: string): string | undefined {
  if (value == null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  throw new ConfigError(`${file}: ${what} must be a string or {"content": string}, got ${JSON.stringify(value)}`);
}
