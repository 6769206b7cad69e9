/**
 * Finding the npm packages that hold emoji data and images, with errors that say what to install.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";

const require = createRequire(import.meta.url);

/** An installed npm package: where it lives and which version it is. */
export interface InstalledPackage {
  readonly name: string;
  readonly dir: string;
  readonly version: string;
}

/**
 * Resolves an installed package by name; `purpose` goes into the error when it is missing.
 *
 *   findPackage("openmoji", "style openmoji").version // "17.0.0"
 */
export function findPackage(name: string, purpose: string): InstalledPackage {
  let manifestPath: string;
  try {
    // Every package we use either has no `exports` map or exports "./*", so package.json resolves.
    manifestPath = require.resolve(`${name}/package.json`);
  } catch {
    throw new Error(`npm package '${name}' is not installed (needed for ${purpose}); run: npm install ${name}`);
  }
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { version?: unknown };
  return { name, dir: dirname(manifestPath), version: String(manifest.version ?? "unknown") };
}

/** Reads and parses a JSON file inside an installed package. */
export function readPackageJson<T>(pkg: InstalledPackage, relPath: string): T {
  return JSON.parse(readFileSync(`${pkg.dir}/${relPath}`, "utf8")) as T;
}
