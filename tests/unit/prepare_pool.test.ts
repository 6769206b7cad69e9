// The prepare workers of koclip index and koclip embed: a pool prepares a batch as prepareBatch
// does on this thread, and workers started ahead (startPrepareWorkers, while a model loads) are
// taken by the next pool, or let the process exit when no pool takes them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { prepareBatch, type PrepareRequest } from "../../src/collection/prepare.js";
import { PreparePool, startPrepareWorkers } from "../../src/collection/prepare_pool.js";
import { clipDefaults } from "../../src/image/index.js";

let dir = "";
let request: PrepareRequest;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "koclip-prepare-pool-"));
  const files = [];
  for (const [i, [width, height]] of [[64, 48], [300, 200], [40, 90]].entries()) {
    const abs = join(dir, `p${i}.jpg`);
    await sharp({ create: { width, height, channels: 3, background: { r: 40 * i, g: 120, b: 200 - 50 * i } } }).jpeg().toFile(abs);
    files.push({ rel: `p${i}.jpg`, abs, size: statSync(abs).size, mtimeMs: 0 });
  }
  files.push({ rel: "missing.jpg", abs: join(dir, "missing.jpg"), size: 1, mtimeMs: 0 });
  request = { files, knownHashes: new Map(), imageConfig: clipDefaults(224), thumbnails: true, maxPixels: 1e8, preprocessing: "reduced" };
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("PreparePool built after startPrepareWorkers: prepares a batch as this thread does, in order, a missing file skipped", async () => {
  startPrepareWorkers(2);
  const pool = new PreparePool(2);
  try {
    const [inWorkers, here] = [await pool.prepare(request), await prepareBatch(request)];
    assert.deepEqual(inWorkers.map((p) => p.kind), ["decoded", "decoded", "decoded", "skipped"]);
    assert.equal(inWorkers.length, here.length);
    for (const [i, p] of inWorkers.entries()) {
      const q = here[i]!;
      assert.equal(p.kind, q.kind);
      if (p.kind === "decoded" && q.kind === "decoded") {
        assert.equal(p.hash, q.hash);
        assert.deepEqual([p.width, p.height], [q.width, q.height]);
        assert.deepEqual(p.pixels, q.pixels, `${p.file.rel}: the model's pixels`);
        assert.ok(Buffer.isBuffer(p.thumbnail) && p.thumbnail.equals(q.thumbnail!), `${p.file.rel}: the thumbnail`);
      }
    }
  } finally {
    await pool.close();
  }
});

test("startPrepareWorkers: workers no pool takes neither keep the process alive nor crash it, whenever it ends", () => {
  const url = new URL("../../src/collection/prepare_pool.js", import.meta.url).href;
  // Ending while the workers still load the addon (a 'napi' call in a terminating worker used to
  // throw out of the addon's init and abort the process), and after they are up (as they are once
  // `koclip index` has loaded its model), when nothing is left but them.
  for (const afterMs of [0, 100, 250, 3000]) {
    const script = `import { startPrepareWorkers } from ${JSON.stringify(url)}; startPrepareWorkers(2); setTimeout(() => console.log("ended"), ${afterMs});`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    assert.equal(run.signal, null, `ending after ${afterMs} ms: the process was killed (${run.signal}): ${run.stderr}`);
    assert.equal(run.status, 0, `ending after ${afterMs} ms: ${run.stderr}`);
    assert.match(run.stdout, /ended/);
  }
});
