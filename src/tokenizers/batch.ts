/**
 * Truncation and padding, kept apart from any tokenizer so the rules read in one place.
 *
 * HF's order is: tokenize the text, truncate it to `max_length - (special tokens to add)`, add the
 * special tokens, then pad. So `[CLS]`/`[SEP]` always survive truncation.
 */
import type { EncodedBatch, EncodeOptions, Side } from "./types.js";

/** EncodeOptions with every default filled in. */
export interface EncodePlan {
  /** Token budget per row, special tokens included; undefined means no truncation. */
  truncateTo?: number;
  padding: "longest" | "max_length" | false;
  /** Target row length for `padding: "max_length"`. */
  maxLength: number;
  addSpecialTokens: boolean;
}

/**
 * Fills in defaults: `maxLength` falls back to the model's limit, and an explicit `maxLength` turns
 * truncation on unless `truncation: false` (see EncodeOptions).
 *
 * ```ts
 * planEncode({ maxLength: 16 }, 512, "longest"); // { truncateTo: 16, padding: "longest", maxLength: 16, addSpecialTokens: true }
 * ```
 */
export function planEncode(
  opts: EncodeOptions,
  modelMaxLength: number,
  defaultPadding: "longest" | false,
): EncodePlan {
  const maxLength = opts.maxLength ?? modelMaxLength;
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new RangeError(`tokenizer: maxLength must be a positive integer, got ${maxLength}`);
  }
  const truncation = opts.truncation ?? opts.maxLength !== undefined;
  return {
    truncateTo: truncation ? maxLength : undefined,
    padding: opts.padding ?? defaultPadding,
    maxLength,
    addSpecialTokens: opts.addSpecialTokens ?? true,
  };
}

/**
 * Keeps `keep` items, dropping from the right (the default) or the left end.
 *
 * ```ts
 * truncate(["a", "b", "c"], 2, "left"); // ["b", "c"]
 * ```
 */
export function truncate<T>(items: T[], keep: number, side: Side): T[] {
  if (items.length <= keep) return items;
  return side === "right" ? items.slice(0, keep) : items.slice(items.length - keep);
}

/**
 * Pads rows to a common length with `padId` and builds the attention masks. Rows longer than the
 * `"max_length"` target stay longer (HF does the same when truncation is off), so the batch then
 * pads to its longest row instead.
 *
 * ```ts
 * padRows([[0, 5, 2], [0, 2]], { padding: "longest", maxLength: 8, padId: 1, side: "right" });
 * // { ids: [[0, 5, 2], [0, 2, 1]], attentionMask: [[1, 1, 1], [1, 1, 0]], length: 3 }
 * ```
 */
export function padRows(
  rows: number[][],
  opts: { padding: "longest" | "max_length" | false; maxLength: number; padId: number; side: Side },
): EncodedBatch {
  const longest = rows.reduce((m, r) => Math.max(m, r.length), 0);
  if (opts.padding === false) {
    return { ids: rows, attentionMask: rows.map((r) => r.map(() => 1)), length: longest };
  }
  const length = opts.padding === "max_length" ? Math.max(opts.maxLength, longest) : longest;
  const ids: number[][] = [];
  const attentionMask: number[][] = [];
  for (const row of rows) {
    const pad = new Array<number>(length - row.length).fill(opts.padId);
    const zeros = new Array<number>(length - row.length).fill(0);
    const ones = new Array<number>(row.length).fill(1);
    ids.push(opts.side === "right" ? [...row, ...pad] : [...pad, ...row]);
    attentionMask.push(opts.side === "right" ? [...ones, ...zeros] : [...zeros, ...ones]);
  }
  return { ids, attentionMask, length };
}
