// The source's folders import one way only: each folder may import the folders below it in
// LAYERS, never one at its own level or above. Reads every import of src/ (and web/) as text.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/fixtures.js";

// Lowest first. Folders on one line are siblings: they must not import each other.
const LAYERS: string[][] = [
  ["formats", "torch"],
  ["nn", "optim", "tokenizers", "image"],
  ["models", "data"],
  ["tasks"],
  ["eval", "train"],
  ["collection"],
  ["server", "export"],
  ["cli", "web"],
  ["index.ts"],
];
const LEVEL = new Map(LAYERS.flatMap((folders, level) => folders.map((f) => [f, level] as const)));

/** The top-level unit of src/ a file belongs to ("models", or "index.ts" for the package entry); web/ counts as "web". */
function unitOf(file: string): string {
  const rel = relative(REPO_ROOT, file).split(sep);
  return rel[0] === "web" ? "web" : rel[1]!;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

/** Every relative import and re-export of the file (static, dynamic and JSDoc `import("…")` types). */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const found: Import[] = [];
  const patterns: [RegExp, boolean | null][] = [
    [/(?:^|;)\s*(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+"(\.[^"]+)"/gms, null],
    [/(?:^|;)\s*import\s+"(\.[^"]+)"/gm, false],
    [/import\(\s*"(\.[^"]+)"\s*\)/g, true],
  ];
  for (const [re, typeOnly] of patterns) {
    for (const m of text.matchAll(re)) {
      const spec = typeOnly === null ? m[2]! : m[1]!;
      // A JSDoc `import("…")` in a .js file or an `await import(…)`: the latter is a value import.
      const isType = typeOnly === null ? m[1] !== undefined : typeOnly && !/await\s+$/.test(text.slice(0, m.index));
      found.push({ from: file, to: resolve(dirname(file), spec), typeOnly: isType });
    }
  }
  return found;
}

const files = [...sourceFiles(join(REPO_ROOT, "src")), ...sourceFiles(join(REPO_ROOT, "web")).filter((f) => !f.includes(`${sep}node_modules${sep}`))];

test("every folder of src/ (and web/) has a place in the layer list", () => {
  const units = new Set(files.map(unitOf));
  for (const u of units) assert.ok(LEVEL.has(u), `src/${u} is in no layer of tests/checks/layers.test.ts`);
});

test("imports go down the layers: torch/formats → nn/optim/tokenizers/image → models/data → tasks → eval/train → collection → server/export → cli/web", () => {
  const wrong: string[] = [];
  for (const file of files) {
    for (const imp of importsOf(file)) {
      const from = unitOf(file), to = unitOf(imp.to);
      if (from === to || imp.typeOnly) continue;
      if (!(LEVEL.get(to)! < LEVEL.get(from)!)) wrong.push(`${relative(REPO_ROOT, file)} imports ${relative(REPO_ROOT, imp.to)} (${from} may not import ${to})`);
    }
  }
  assert.deepEqual(wrong, [], wrong.join("\n"));
});

test("type-only imports (TypeScript and JSDoc) go down the layers too", () => {
  const wrong: string[] = [];
  for (const file of files) {
    for (const imp of importsOf(file)) {
      const from = unitOf(file), to = unitOf(imp.to);
      if (from === to || !imp.typeOnly) continue;
      if (!(LEVEL.get(to)! < LEVEL.get(from)!)) wrong.push(`${relative(REPO_ROOT, file)} imports types of ${relative(REPO_ROOT, imp.to)}`);
    }
  }
  assert.deepEqual(wrong, [], wrong.join("\n"));
});
