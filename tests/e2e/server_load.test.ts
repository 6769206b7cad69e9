// A bounded load test over real loopback HTTP: 200 concurrent POST /api/search requests against
// koclip-tiny all get a 200 with hits, the queue merges them into few forward passes, and the
// server process's peak RSS (sampled every 5 ms, and the kernel's max RSS) is printed and bounded.
// The clients run in a child process.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { loadModel } from "../../src/models/load.js";
import type { PretrainedModel } from "../../src/models/pretrained.js";
import { buildServer } from "../../src/server/app.js";
import type { SearchResponse, StatusResponse } from "../../src/server/types.js";
import { buildTestCollection, TINY_MODEL, type TestCollection } from "./server_setup.js";

const CONCURRENT = 200;
const WORDS = ["고양이", "강아지", "바닷가", "자동차", "빨간 꽃", "하늘", "웃는 얼굴", "피자", "산", "눈사람"];

let model: PretrainedModel;
let tc: TestCollection;
let app: FastifyInstance;
let base: string;

before(async () => {
  model = await loadModel(TINY_MODEL());
  tc = await buildTestCollection(model);
  app = await buildServer({ model, collection: tc.collection, webRoot: false });
  base = await app.listen({ port: 0, host: "127.0.0.1" });
});

after(async () => {
  await app?.close();
  tc?.cleanup();
  model?.dispose();
});

/** Fires `n` concurrent searches from a child node process; resolves to each status, body and text. */
async function runClients(base: string, n: number): Promise<{ status: number; body: SearchResponse; text: string }[]> {
  const script = `
    const words = ${JSON.stringify(WORDS)};
    const replies = await Promise.all(Array.from({ length: ${n} }, async (_, i) => {
      const text = words[i % words.length] + " " + i;
      const res = await fetch(${JSON.stringify(base)} + "/api/search", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text, k: 5 }) });
      return { status: res.status, body: await res.json(), text };
    }));
    process.stdout.write(JSON.stringify(replies));`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => chunks.push(c));
  const [code] = (await once(child, "close")) as [number];
  assert.equal(code, 0, "the client process succeeded");
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

test(`${CONCURRENT} concurrent /api/search requests over loopback are all answered, with bounded memory`, async () => {
  const mb = (b: number) => Math.round(b / 1024 / 1024);
  // Warm up (first-call allocations) so the measurement is about the burst.
  await fetch(`${base}/api/search`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "워밍업" }) });
  const rssBefore = process.memoryUsage.rss();
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  const t0 = performance.now();
  // The client runs in its own process, as real clients do: in this one, its sockets would
  // share the event loop that the model blocks, and requests would trickle in one by one.
  const replies = await runClients(base, CONCURRENT);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  const maxRssKernel = process.resourceUsage().maxRSS * 1024;
  const statuses = new Map<number, number>();
  for (const r of replies) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  const status = (await (await fetch(`${base}/api/status`)).json()) as StatusResponse;
  console.log(
    `# load: ${CONCURRENT} concurrent searches in ${seconds.toFixed(2)} s (${(CONCURRENT / seconds).toFixed(0)} req/s); ` +
      `statuses ${JSON.stringify(Object.fromEntries(statuses))}; RSS before ${mb(rssBefore)} MB, peak ${mb(peak)} MB ` +
      `(+${mb(peak - rssBefore)} MB), process max RSS ${mb(maxRssKernel)} MB; queue served ${status.queue.served} in ${status.queue.passes} model passes`,
  );
  assert.deepEqual([...statuses.keys()], [200], `every request answered 200: ${JSON.stringify(Object.fromEntries(statuses))}`);
  for (const r of replies) {
    assert.deepEqual(r.body.query, { kind: "text", text: r.text }, JSON.stringify(r.body));
    assert.equal(r.body.hits.length, 5);
  }
  assert.equal(status.queue.depth, 0);
  assert.equal(status.queue.rejected, 0);
  assert.ok(status.queue.passes <= CONCURRENT / 4, `concurrent texts were merged into batches (${status.queue.passes} passes)`);
  // 200 requests, each holding a few KB; anything like 100 MB more would mean per-request model copies.
  assert.ok(peak - rssBefore < 150 * 1024 * 1024, `RSS grew ${mb(peak - rssBefore)} MB during the burst`);
});
