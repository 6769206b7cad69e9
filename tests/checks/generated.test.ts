// The committed op bindings are exactly what gen/generate.mjs writes from gen/ops.mjs: an op
// added to the list without `npm run gen`, or a generated file edited by hand, fails here.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/fixtures.js";

const GENERATED = ["native/src/ops_generated.cc", "src/torch/native_ops.generated.ts", "src/torch/ops.generated.ts"];

test("the generated bindings match gen/ops.mjs (regenerated into a temporary folder)", () => {
  const out = mkdtempSync(join(tmpdir(), "koclip-gen-"));
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, "gen", "generate.mjs"), out], { stdio: "pipe" });
    for (const file of GENERATED) {
      const fresh = readFileSync(join(out, file), "utf8"), committed = readFileSync(join(REPO_ROOT, file), "utf8");
      assert.ok(fresh === committed, `${file} differs from what gen/generate.mjs writes: run \`npm run gen\``);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
