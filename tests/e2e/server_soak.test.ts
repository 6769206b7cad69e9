// A bounded soak of a real `koclip serve` (bin/koclip on 127.0.0.1, so with the launcher's
// allocator policy): 1,000 mixed requests from as many clients as the queue admits — text
// searches, small and ~3 MB uploads, an /api/embed of eight ~3 MB images (the largest accepted
// request), surplus files refused early, truncated and oversized uploads, bad JSON — with the
// server's RSS sampled every 100 ms. Prints the figures docs/serving-safely.md quotes and checks
// them: no 5xx, peak under maxQueue × the largest accepted request + the model, RSS after the
// load ≤ resting + 300 MB, and within 100 MB of resting 30 s after the load stops.
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { loadModel } from "../../src/models/load.js";
import { mulberry32 } from "../helpers/random.js";
import { JSON_TYPE, MULTIPART, multipartBody, type Part } from "./hostile_corpus.js";
import { startServe, type ServeProcess } from "./serve_process.js";
import { buildTestCollection, TINY_MODEL, type TestCollection } from "./server_setup.js";

const REQUESTS = 1000;
const MAX_QUEUE = 8;
const MB = 1024 * 1024;
const mb = (b: number) => Math.round(b / MB);

let tc: TestCollection;
let server: ServeProcess;

before(async () => {
  const model = await loadModel(TINY_MODEL());
  tc = await buildTestCollection(model);
  model.dispose();
  server = await startServe(["--db", tc.collection.dbFile, "--model", TINY_MODEL(), "--max-queue", String(MAX_QUEUE)]);
});

after(async () => {
  await server?.stop();
  tc?.cleanup();
});

/** Seeded noise as PNG: ~3 bytes a pixel, so a 1000² image is a ~3 MB upload that decodes to ~3 MB. */
async function noisePng(side: number, seed: number): Promise<Buffer> {
  const rng = mulberry32(seed);
  const raw = Buffer.alloc(side * side * 3);
  for (let i = 0; i < raw.length; i += 4) raw.writeUInt32LE((rng() * 2 ** 32) >>> 0, Math.min(i, raw.length - 4));
  return sharp(raw, { raw: { width: side, height: side, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
}

interface Kind {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  expect: number;
}

async function requestKinds(): Promise<Kind[]> {
  const large = await noisePng(1000, 1);
  const small = await noisePng(96, 2);
  const jpeg = await sharp(large).jpeg().toBuffer();
  const file = (name: string, data: Buffer): Part => ({ name, filename: "f.png", data });
  const form = (path: string, parts: Part[], expect: number, name: string): Kind => ({ name, path, headers: MULTIPART, body: multipartBody(parts), expect });
  const json = (body: string, expect: number, name: string): Kind => ({ name, path: "/api/search", headers: JSON_TYPE, body: Buffer.from(body), expect });
  // One template: the default ensemble's text encoding would dominate, and this measures uploads.
  const labels: Part[] = [{ name: "labels", value: "고양이" }, { name: "labels", value: "강아지" }, { name: "templates", value: "{} 사진" }];
  return [
    json('{"text": "바닷가의 고양이", "k": 5}', 200, "text search"),
    form("/api/classify", [file("image", small), ...labels], 200, "small classify"),
    form("/api/classify", [file("image", large), ...labels], 200, "3 MB classify"),
    form("/api/search", [file("image", large)], 200, "3 MB image search"),
    form("/api/embed", Array.from({ length: 8 }, () => file("images", large)), 200, "embed of eight 3 MB images"),
    form("/api/classify", [file("image", large), file("image", large), file("image", large), file("image", large), ...labels], 400, "four 3 MB files where one is taken"),
    form("/api/classify", [file("image", jpeg.subarray(0, jpeg.length >> 1)), ...labels], 400, "truncated JPEG"),
    form("/api/search", [file("image", Buffer.alloc(11 * MB, 1))], 413, "11 MB upload"),
    json('{"text": 5}', 400, "number as text"),
    json('{"text": "고양', 400, "truncated JSON"),
  ];
}

/** Request i's kind (an index into requestKinds): mostly cheap ones, each large kind once in 40. */
const SCHEDULE = [0, 1, 0, 2, 0, 8, 0, 0, 1, 9, 0, 3, 0, 1, 8, 0, 6, 0, 1, 0, 4, 0, 8, 1, 0, 5, 0, 9, 1, 0, 0, 7, 0, 1, 8, 0, 0, 9, 1, 0];

test(`soak: ${REQUESTS} mixed requests at the queue limit (${MAX_QUEUE}); memory bounded and given back`, { timeout: 240_000 }, async () => {
  const kinds = await requestKinds();
  const send = async (k: Kind) => {
    const res = await fetch(server.url + k.path, { method: "POST", headers: k.headers, body: k.body });
    await res.arrayBuffer();
    return res.status;
  };
  for (const k of kinds) assert.equal(await send(k), k.expect, `warm-up: ${k.name}`);
  await new Promise((r) => setTimeout(r, 3000));
  const resting = server.rssBytes();
  let peak = resting;
  const sampler = setInterval(() => (peak = Math.max(peak, server.rssBytes())), 100);
  const statuses = new Map<number, number>();
  const wrong: string[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: MAX_QUEUE }, async () => {
      while (next < REQUESTS) {
        const k = kinds[SCHEDULE[next++ % SCHEDULE.length]!]!;
        const status = await send(k);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status !== k.expect) wrong.push(`${k.name}: ${status}`);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const afterLoad = server.rssBytes();
  peak = Math.max(peak, afterLoad);
  const t1 = performance.now();
  let settled = afterLoad;
  while (settled > resting + 100 * MB && performance.now() - t1 < 30_000) {
    await new Promise((r) => setTimeout(r, 1000));
    settled = server.rssBytes();
  }
  const settleS = (performance.now() - t1) / 1000;
  const largest = Math.max(...kinds.filter((k) => k.expect === 200).map((k) => k.body.length));
  const modelBytes = statSync(join(TINY_MODEL(), "model.safetensors")).size;
  const bound = MAX_QUEUE * largest + modelBytes;
  const sent = kinds.reduce((n, k) => n + k.body.length * Math.ceil(REQUESTS / SCHEDULE.length) * SCHEDULE.filter((s) => kinds[s] === k).length, 0);
  console.log(
    `# soak: ${REQUESTS} requests (~${mb(sent)} MB uploaded) at concurrency ${MAX_QUEUE} in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; ` +
      `server RSS resting ${mb(resting)} MB, peak ${mb(peak)} MB (bound maxQueue ${MAX_QUEUE} × largest accepted request ${mb(largest)} MB + model = ${mb(bound)} MB), ` +
      `right after ${mb(afterLoad)} MB (+${mb(afterLoad - resting)}), ${mb(settled)} MB (+${mb(settled - resting)}) ${settleS.toFixed(0)} s later; ` +
      `allocator policy KOCLIP_MEMORY=${process.env.KOCLIP_MEMORY ?? "return (bin/koclip's default for serve)"}`,
  );
  assert.deepEqual(wrong, [], wrong.slice(0, 10).join("\n"));
  assert.equal(server.child.exitCode, null, "the server is still running");
  assert.ok(peak - resting <= bound, `peak ${mb(peak)} MB exceeds resting + ${mb(bound)} MB`);
  assert.ok(afterLoad <= resting + 300 * MB, `RSS after the load ${mb(afterLoad)} MB > resting ${mb(resting)} MB + 300 MB`);
  assert.ok(settled <= resting + 100 * MB, `RSS ${mb(settled)} MB is not back within 100 MB of resting ${mb(resting)} MB 30 s after the load`);
});
