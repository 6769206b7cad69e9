// `koclip serve` as a process: starts on a free loopback port with --db and --model, answers the
// API, stops cleanly on SIGTERM; bad flags are usage errors. Runs serveCommand directly (the
// command list registers it), under koclip-node like bin/koclip.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../../src/models/load.js";
import { serveCommand } from "../../src/cli/commands/serve.js";
import { UsageError } from "../../src/cli/command.js";
import type { SearchResponse, StatusResponse } from "../../src/server/types.js";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { buildTestCollection, TINY_MODEL } from "./server_setup.js";

test("koclip serve --db --model --port 0 serves the API and the page, and exits 0 on SIGTERM", async () => {
  const model = await loadModel(TINY_MODEL());
  const tc = await buildTestCollection(model);
  tc.collection.close(); // the server opens it itself
  model.dispose();
  const script = `import { serveCommand } from ${JSON.stringify(join(REPO_ROOT, "dist/src/cli/commands/serve.js"))};
process.exitCode = await serveCommand.run(process.argv.slice(1));`;
  const child = spawn(join(REPO_ROOT, "bin", "koclip-node"), ["--input-type=module", "-e", script, "--", "--db", tc.collection.dbFile, "--model", TINY_MODEL(), "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (d: string) => {
        stderr += d;
        const m = /koclip serve: (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    assert.match(stderr, /8 images from /);
    const status = (await (await fetch(`${url}/api/status`)).json()) as StatusResponse;
    assert.equal(status.collection?.images, 8);
    const search = (await (await fetch(`${url}/api/search`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "고양이", k: 2 }) })).json()) as SearchResponse;
    assert.equal(search.hits.length, 2);
    assert.equal((await fetch(url)).status, 200);
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    tc.cleanup();
  }
});

test("koclip serve: bad flags are usage errors; a missing index is a one-line error", async () => {
  await assert.rejects(serveCommand.run(["--prot", "3000"]), (e) => e instanceof UsageError && /--prot/.test(e.message));
  await assert.rejects(serveCommand.run(["--port", "http"]), (e) => e instanceof UsageError && /--port must be an integer in 0\.\.65535, got 'http'/.test(e.message));
  await assert.rejects(serveCommand.run(["--port", "70000"]), UsageError);
  await assert.rejects(serveCommand.run(["--db", "/nonexistent/x.db", "--model", TINY_MODEL()]), /\/nonexistent\/x\.db: no such index file/);
  assert.match(serveCommand.usage, /usage: koclip serve \[--db FILE\] \[--model DIR\] \[--port 3000\] \[--host 127\.0\.0\.1\]/);
});
