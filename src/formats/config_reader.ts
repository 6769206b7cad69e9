/**
 * The one reader of config files (config.json, preprocessor_config.json, tokenizer files): typed
 * fields with Hugging Face's defaults for absent ones, and one error format, on one line:
 *
 *   `<file>: <dotted field> must be <what>, got <JSON value>`
 *
 *   const r = ConfigReader.of(json, "model/config.json", "text_config.");
 *   r.int("hidden_size", 512, 1);   // throws "model/config.json: text_config.hidden_size must be a positive integer, got "32""
 */

/** A config file that cannot describe what it should; the message names the file and field. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type Json = Record<string, unknown>;

export function isJsonObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A number check and the words that describe it in an error. */
export interface NumberRule {
  ok(x: number): boolean;
  what: string;
}

export const FINITE: NumberRule = { ok: Number.isFinite, what: "a finite number" };
export const POSITIVE: NumberRule = { ok: (x) => Number.isFinite(x) && x > 0, what: "a positive number" };
export const NON_NEGATIVE: NumberRule = { ok: (x) => Number.isFinite(x) && x >= 0, what: "a non-negative number" };

/** Numbers in [lo, hi], or [lo, hi) when `openHigh`. */
export function inRange(lo: number, hi: number, openHigh = false): NumberRule {
  return { ok: (x) => x >= lo && (openHigh ? x < hi : x <= hi), what: `in [${lo}, ${hi}${openHigh ? ")" : "]"}` };
}

export class ConfigReader {
  /** `prefix` is the dotted path of this object inside the file ("" at the top, "text_config." below). */
  constructor(readonly json: Json, readonly where: string, readonly prefix = "") {}

  /** A reader over `json`, which must be a JSON object. */
  static of(json: unknown, where: string, prefix = ""): ConfigReader {
    if (!isJsonObject(json)) throw new ConfigError(`${where}: ${prefix ? prefix.slice(0, -1) : "config"} must be a JSON object, got ${JSON.stringify(json)}`);
    return new ConfigReader(json, where, prefix);
  }

  /** Throws the one-line error for `field`. */
  fail(field: string, what: string, value: unknown): never {
    throw new ConfigError(`${this.where}: ${this.prefix}${field} must be ${what}, got ${JSON.stringify(value)}`);
  }

  /** The field's value; HF writes null for "unset" in places (e.g. pad_token_id), so null reads as absent. */
  raw(field: string): unknown {
    const v = this.json[field];
    return v === null ? undefined : v;
  }

  /** An integer ≥ `min` (no bound when omitted). */
  int(field: string, dflt: number | undefined, min = -Infinity): number {
    const v = this.raw(field) ?? dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      this.fail(field, min === 1 ? "a positive integer" : min === 0 ? "a non-negative integer" : min === -Infinity ? "an integer" : `an integer ≥ ${min}`, v);
    }
    return v;
  }

  number(field: string, dflt: number | undefined, rule: NumberRule = FINITE): number {
    const v = this.raw(field) ?? dflt;
    if (typeof v !== "number" || !rule.ok(v)) this.fail(field, rule.what, v);
    return v;
  }

  boolean(field: string, dflt: boolean): boolean {
    const v = this.raw(field) ?? dflt;
    if (typeof v !== "boolean") this.fail(field, "a boolean", v);
    return v;
  }

  /** A non-empty string. */
  string(field: string, dflt: string | undefined): string {
    const v = this.raw(field) ?? dflt;
    if (typeof v !== "string" || v === "") this.fail(field, "a non-empty string", v);
    return v;
  }

  /** One of `values`. */
  oneOf<T extends string>(field: string, values: readonly T[], dflt: T | undefined): T {
    const v = this.raw(field) ?? dflt;
    if (!(values as readonly unknown[]).includes(v)) this.fail(field, `one of ${values.join(", ")}`, v);
    return v as T;
  }

  /** The reader of a nested object field, or undefined when the field is absent. */
  child(field: string): ConfigReader | undefined {
    const v = this.raw(field);
    if (v === undefined) return undefined;
    if (!isJsonObject(v)) this.fail(field, "a JSON object", v);
    return new ConfigReader(v, this.where, `${this.prefix}${field}.`);
  }
}
