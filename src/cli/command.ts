import { parseArgs, type ParseArgsConfig } from "node:util";
import { PRECISIONS, type Precision } from "../nn/index.js";

type FlagOptions = NonNullable<ParseArgsConfig["options"]>;

/** One `koclip` sub-command: parses its own flags, calls one library function, prints. */
export interface Command {
  /** The word after `koclip`, e.g. `embed`. */
  readonly name: string;
  /** One line for `koclip --help`. */
  readonly summary: string;
  /** Full help text printed by `koclip NAME --help`. */
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** Thrown for bad command-line input; main prints the message and the command's usage, exits 2. */
export class UsageError extends Error {}

/**
 * node:util parseArgs in strict mode, with its errors (unknown flag, missing value) turned into
 * UsageErrors so main prints them with the command's usage.
 *
 *   const { values } = parseFlags(argv, { model: { type: "string" } });
 */
type StrictConfig<O extends FlagOptions> = { args: string[]; options: O; strict: true; allowPositionals: boolean };

export function parseFlags<O extends FlagOptions>(argv: string[], options: O, allowPositionals = false): ReturnType<typeof parseArgs<StrictConfig<O>>> {
  try {
    return parseArgs<StrictConfig<O>>({ args: argv, options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `--precision`: how the model's matrix products compute (fp32 when absent; see Precision in src/nn). */
export function precisionFlag(value: string | undefined): Precision {
  if (value === undefined) return "fp32";
  if ((PRECISIONS as readonly string[]).includes(value)) return value as Precision;
  throw new UsageError(`--precision must be one of ${PRECISIONS.join(", ")}, got '${value}'`);
}

/**
 * An integer flag `--name`: undefined when absent (so the caller's or the model's default applies),
 * else an integer in [min, max], or a usage error naming the flag and the range.
 *
 *   const k = intFlag("k", values.k) ?? 20;
 *   const batchSize = intFlag("batch-size", values["batch-size"]);  // undefined: PretrainedModel.imageBatchSize
 */
export function intFlag(name: string, raw: string | undefined, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`}, got '${raw}'`);
  }
  return n;
}

/**
 * The flags every model-running command takes, declared once; spread into parseFlags' options
 * and print their help with `modelFlagsHelp`.
 */
export const MODEL_FLAGS = {
  model: { type: "string" },
  device: { type: "string" },
} as const satisfies FlagOptions;

/** `--json`, for the commands that can print their result as JSON. */
export const JSON_FLAG = { json: { type: "boolean" } } as const satisfies FlagOptions;

/**
 * The help lines of MODEL_FLAGS, aligned with the command's other options at `column`; `model`
 * says where the model comes from when --model is absent (or that it is required).
 */
export function modelFlagsHelp(model: string, column: number): string {
  const line = (flag: string, text: string) => `  ${flag.padEnd(column - 2)}${text}`;
  return [line("--model DIR|ID", model), line("--device D", "cpu (default), cuda or cuda:N")].join("\n");
}
