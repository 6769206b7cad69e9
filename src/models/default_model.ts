/** Where the CLI and server look for a model when none is named. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: the nearest folder above this file holding package.json. */
export const PACKAGE_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
})();

/** `models/koclip-emoji` under the package root: the default model once it ships. */
export const DEFAULT_MODEL_DIR = join(PACKAGE_ROOT, "models", "koclip-emoji");

/**
 * The model folder to use: the one given, else each fallback that exists (e.g. the model an
 * index was built with), else the default model; throws a message saying to pass --model.
 *
 *   resolveModelDir(undefined)   // ".../models/koclip-emoji", or throws if it is not there
 */
export function resolveModelDir(given: string | undefined, fallbacks: (string | null | undefined)[] = []): string {
  if (given) return given;
  for (const f of [...fallbacks, DEFAULT_MODEL_DIR]) if (f && existsSync(join(f, "config.json"))) return f;
  throw new Error(`no model given and the default model ${DEFAULT_MODEL_DIR} is not there; pass --model DIR`);
}
