/** Flag parsing shared by `koclip index`, `search` and `classify`. */
import { UsageError } from "../command.js";

/** An integer flag: `def` when absent, a usage error when not an integer >= min. */
export function intFlag(name: string, value: string | undefined, def: number, min = 1): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}
