/** Paths to the shared Hugging Face fixtures, read in place (never copied into the repo). */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root: tests compile to dist/tests/**, so walk up to the folder holding package.json. */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("package.json not found above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
})();

/** `../shared/fixtures/hf` beside the checkout (override with KOCLIP_FIXTURES). */
export const HF_FIXTURES = process.env.KOCLIP_FIXTURES ?? resolve(REPO_ROOT, "../shared/fixtures/hf");

export function fixture(...parts: string[]): string {
  const p = join(HF_FIXTURES, ...parts);
  if (!existsSync(p)) throw new Error(`fixture missing: ${p} (set KOCLIP_FIXTURES to ../shared/fixtures/hf)`);
  return p;
}
