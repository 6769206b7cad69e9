// Hostile input against a real `koclip serve` (bin/koclip, on 127.0.0.1, with --log): the
// generated corpus of hostile_corpus.ts — broken and inflated images in five formats, SVGs,
// malformed multipart, odd JSON and Unicode, bad URLs, foreign Host and Origin headers — plus
// uploads refused before they are read and clients hanging up mid-upload. Every answer is a
// documented status with a clean JSON error body, none is a 5xx, the server stays up, logs no
// error and no stack trace, and the index file is byte for byte unchanged. Prints the tally.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadModel } from "../../src/models/load.js";
import { DEFAULT_LIMITS } from "../../src/server/limits.js";
import type { StatusResponse } from "../../src/server/types.js";
import { BOUNDARY, hostProbes, imageProbes, jsonProbes, MULTIPART, multipartProbes, urlProbes, type Probe } from "./hostile_corpus.js";
import { startServe, type ServeProcess } from "./serve_process.js";
import { buildTestCollection, FIXTURE_IMAGES, TINY_MODEL, type TestCollection } from "./server_setup.js";

/** Every `error` code the server's docs list (docs/serving-safely.md). */
const DOCUMENTED_CODES = new Set([
  "bad_json", "bad_field_name", "invalid_request", "limit_exceeded", "unsupported_media_type", "bad_multipart", "truncated_upload",
  "unexpected_file", "too_many_images", "too_many_fields", "image_required", "bad_image", "image_too_small", "bad_url", "bad_host",
  "host_not_allowed", "cross_origin", "not_found", "unknown_image", "no_thumbnail", "outside_root", "file_missing", "no_collection",
  "bad_request",
]);

let tc: TestCollection;
let server: ServeProcess;
let port: number;
let indexHash: string;
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

before(async () => {
  const model = await loadModel(TINY_MODEL());
  tc = await buildTestCollection(model);
  model.dispose();
  indexHash = sha256(tc.collection.dbFile);
  server = await startServe(["--db", tc.collection.dbFile, "--model", TINY_MODEL(), "--log"]);
  port = Number(new URL(server.url).port);
});

after(async () => {
  await server?.stop();
  tc?.cleanup();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends a probe over a fresh connection with exactly its headers (Host included when given). */
function send(p: Probe): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host: `127.0.0.1:${port}`, ...p.headers };
    if (p.body) headers["content-length"] = p.body.length;
    const req = request({ host: "127.0.0.1", port, method: p.method, path: p.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(p.body);
  });
}

/** A 4xx body is `{ error, message }` with a documented code and no internals. */
function assertCleanError(name: string, a: Answer): void {
  if (a.status === 431 || a.status === 414) return; // node's own header/URL-size refusals carry no body
  let body: { error?: unknown; message?: unknown };
  try {
    body = JSON.parse(a.body);
  } catch {
    assert.fail(`${name}: ${a.status} without a JSON body: ${a.body.slice(0, 200)}`);
  }
  assert.ok(typeof body.error === "string" && DOCUMENTED_CODES.has(body.error), `${name}: undocumented error code ${String(body.error)}`);
  assert.equal(typeof body.message, "string", name);
  assert.doesNotMatch(a.body, /\bat .+:\d+:\d+|\.ts:\d|\.js:\d|node_modules|\/tmp\/|FST_/, `${name}: error leaks internals: ${a.body}`);
}

const tally = new Map<number, number>();
let tried = 0;

async function runProbes(probes: Probe[]): Promise<void> {
  const wrong: string[] = [];
  for (const p of probes) {
    const a = await send(p);
    tried++;
    tally.set(a.status, (tally.get(a.status) ?? 0) + 1);
    if (!p.expect.includes(a.status)) wrong.push(`${p.name}: ${a.status} (expected ${p.expect.join("/")}) ${a.body.slice(0, 160)}`);
    if (a.status >= 400) {
      try {
        assertCleanError(p.name, a);
      } catch (err) {
        wrong.push((err as Error).message);
      }
    }
  }
  assert.deepEqual(wrong, [], wrong.join("\n"));
}

test("broken, inflated and foreign images on every image route are 200 or a 4xx, never a 5xx", async () => {
  await runProbes(await imageProbes(DEFAULT_LIMITS.maxUploadBytes));
});

test("malformed multipart bodies are 4xx", async () => runProbes(multipartProbes()));

test("odd JSON types and Unicode are 4xx or answered; nothing is coerced", async () => runProbes(jsonProbes()));

test("malformed URLs, unknown routes and ids are 4xx in the API's error shape", async () => runProbes(urlProbes()));

test("only loopback Host names are served, cross-origin writes are refused", async () => runProbes(hostProbes(port)));

test("responses carry CSP, X-Frame-Options and nosniff; /api/status shows no server paths", async () => {
  const page = await send({ name: "page", method: "GET", path: "/", headers: {}, expect: [200] });
  assert.equal(page.status, 200);
  assert.match(String(page.headers["content-security-policy"]), /frame-ancestors 'none'/);
  assert.equal(page.headers["x-frame-options"], "DENY");
  assert.equal(page.headers["x-content-type-options"], "nosniff");
  const refused = await send({ name: "evil host", method: "GET", path: "/", headers: { host: "evil.example" }, expect: [403] });
  assert.equal(refused.headers["x-frame-options"], "DENY", "error answers carry the headers too");
  const status = await send({ name: "status", method: "GET", path: "/api/status", headers: {}, expect: [200] });
  const s = JSON.parse(status.body) as StatusResponse;
  assert.equal(s.collection?.root, "photos");
  assert.ok(!status.body.includes(tc.root) && !status.body.includes("/tmp"), status.body);
});

test("a second file where one is taken is refused before the rest of the upload is sent", async () => {
  // Two small image parts, then the connection stays open with a third part unfinished: the
  // answer must come without the server waiting for (or buffering) the rest.
  const png = readFileSync(join(FIXTURE_IMAGES(), "small_100x60.png"));
  const head = `--${BOUNDARY}\r\ncontent-disposition: form-data; name="image"; filename="a.png"\r\ncontent-type: image/png\r\n\r\n`;
  const opening = Buffer.concat([Buffer.from(head), png, Buffer.from("\r\n" + head), Buffer.alloc(64 * 1024, 1)]);
  const socket = connect(port, "127.0.0.1");
  const reply = await new Promise<string>((resolve, reject) => {
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      text += d;
      if (text.includes("\r\n\r\n") && /\}$/.test(text)) resolve(text);
    });
    socket.on("error", reject);
    setTimeout(() => reject(new Error(`no answer within 10 s while the upload was held open; got: ${text}`)), 10_000).unref();
    socket.write(`POST /api/classify HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: ${MULTIPART["content-type"]}\r\ncontent-length: ${400 * 1024 * 1024}\r\n\r\n`);
    socket.write(opening);
  });
  socket.destroy();
  tried++;
  assert.match(reply, /^HTTP\/1\.1 400/);
  assert.match(reply, /"error":"too_many_images"/);
});

test("clients hanging up mid-upload or mid-JSON leave the server up and nothing logged as an error", async () => {
  for (const [type, body] of [[MULTIPART["content-type"], `--${BOUNDARY}\r\ncontent-disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n${"x".repeat(200_000)}`], ["application/json", '{"text": "고양']] as const) {
    for (let i = 0; i < 5; i++) {
      const socket = connect(port, "127.0.0.1");
      await new Promise<void>((resolve) => socket.on("connect", resolve));
      socket.write(`POST /api/search HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: ${type}\r\ncontent-length: 10000000\r\n\r\n${body}`);
      await new Promise((r) => setTimeout(r, 20));
      socket.destroy();
      tried++;
    }
  }
  await new Promise((r) => setTimeout(r, 300));
  const status = await send({ name: "status", method: "GET", path: "/api/status", headers: {}, expect: [200] });
  assert.equal(status.status, 200);
});

test("after every probe: the server is up, logged no error or stack, and the index is unchanged", async () => {
  const status = await send({ name: "status", method: "GET", path: "/api/status", headers: {}, expect: [200] });
  assert.equal(status.status, 200);
  assert.equal(server.child.exitCode, null, "the server is still running");
  const over500 = [...tally].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
  console.log(`# hostile: ${tried} hostile inputs tried; statuses ${JSON.stringify(Object.fromEntries([...tally].sort((a, b) => a[0] - b[0])))}; ${over500} responses >= 500; server crashes 0`);
  assert.equal(over500, 0);
  const log = server.stdout();
  const errors = log.split("\n").filter((l) => /"level":(50|60)/.test(l));
  assert.deepEqual(errors, [], "no request was logged at error level");
  assert.doesNotMatch(server.stderr(), /\n\s+at /, "no stack trace on the server's stderr");
  assert.equal(sha256(tc.collection.dbFile), indexHash, "the index file is unchanged");
});
