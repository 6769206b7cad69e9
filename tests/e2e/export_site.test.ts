// koclip export site: the exported folder, served by a plain loopback static server, searched in a
// real headless Chromium (Debian's /usr/bin/chromium via playwright-core; no browser is ever
// downloaded). Korean queries typed into the page give the same top-10 ids as `koclip search
// --json` on the same index, scores within 1e-3; clicking an image ranks by its stored vector;
// the page fetches nothing but its own files.
// KOCLIP_SITE_SCREENSHOT=file.png saves a screenshot of the page after the first query.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { CHROMIUM, launchChromium } from "../helpers/chromium.js";
import sharp from "sharp";
import { indexFolder } from "../../src/collection/build.js";
import { loadModel } from "../../src/models/load.js";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { serveStatic, type StaticServer } from "../helpers/static_server.js";
import { rankingModelDir } from "./server_setup.js";

const KOCLIP = join(REPO_ROOT, "bin", "koclip");
const modelDir = rankingModelDir();
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : modelDir === null ? "no ranking model" : false;
if (skip) console.log(`# skipping static site tests: ${skip}`);

const QUERIES = ["고양이", "빨간 자동차", "웃는 얼굴"];
/** Twemoji images to index: enough that a top 10 is a choice (every 90th of the set, in name order). */
const IMAGE_COUNT = 40;

const work = mkdtempSync(join(tmpdir(), "koclip-site-"));
const db = join(work, "index.db");
after(() => rmSync(work, { recursive: true, force: true }));

before(async () => {
  if (skip) return;
  const root = join(work, "photos");
  mkdirSync(root);
  const svgDir = join(REPO_ROOT, "node_modules", "@twemoji", "svg");
  const names = readdirSync(svgDir).filter((f) => f.endsWith(".svg")).sort();
  const step = Math.floor(names.length / IMAGE_COUNT);
  for (let i = 0; i < IMAGE_COUNT; i++) {
    const name = names[i * step]!;
    await sharp(readFileSync(join(svgDir, name)), { density: 150 }).resize(80, 80).flatten({ background: "#d8d8d8" }).png().toFile(join(root, name.replace(".svg", ".png")));
  }
  const model = await loadModel(modelDir!);
  try {
    await indexFolder(root, model, { db, batchSize: 16 });
  } finally {
    model.dispose();
  }
});

interface Hit {
  id: number;
  score: number;
}

/** `koclip search TEXT --json --k 10` on the test index. */
function cliSearch(text: string): Hit[] {
  const r = spawnSync(KOCLIP, ["search", text, "--db", db, "--k", "10", "--json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { hits: Hit[] }).hits.map((h) => ({ id: h.id, score: h.score }));
}

function exportSiteCli(out: string, ...extra: string[]): void {
  const r = spawnSync(KOCLIP, ["export", "site", "--db", db, "--out", out, ...extra], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`${IMAGE_COUNT} images, [\\d.]+ MiB in \\d+ files`));
}

/** Serves `dir` on loopback, opens the page in Chromium, runs `fn`, and checks every request stayed on that server. */
async function withSitePage(dir: string, fn: (page: Page) => Promise<void>): Promise<void> {
  const server: StaticServer = await serveStatic(dir);
  const profile = mkdtempSync(join(tmpdir(), "koclip-chromium-"));
  let context: BrowserContext | undefined;
  try {
    context = await launchChromium(profile);
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    const requests: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(server.url);
    await page.waitForSelector("body[data-ready], body[data-error]", { timeout: 60_000 });
    assert.equal(await page.getAttribute("body", "data-error"), null, "the page loaded its model");
    await fn(page);
    assert.deepEqual(pageErrors, [], "no script errors on the page");
    assert.deepEqual(requests.filter((u) => !u.startsWith(server.url)), [], "the page requests nothing outside its own folder");
  } finally {
    await context?.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Types `text` into the page's search box and returns the first `k` hits shown. */
async function pageSearch(page: Page, text: string, k: number): Promise<Hit[]> {
  await page.fill("#query", text);
  await page.press("#query", "Enter");
  await page.waitForFunction(`document.getElementById("search-info").textContent.startsWith(${JSON.stringify(`“${text}”`)})`);
  const hits = await page.$$eval("#results .hit", (lis) => lis.map((li) => ({ id: li.getAttribute("data-id"), score: li.getAttribute("data-score") })));
  return hits.slice(0, k).map((h) => ({ id: Number(h.id), score: Number(h.score) }));
}

test("static site: Korean queries in Chromium give koclip search's top 10, scores within 1e-3; image search from stored vectors", { skip }, async () => {
  const out = join(work, "site");
  exportSiteCli(out);
  for (const f of ["index.html", "site.js", "hit_card.js", "site.json", "vectors.bin", "model/text_model.onnx", "model/tokenizer.json", "vendor/ort-wasm-simd-threaded.wasm", "vendor/tokenizers.min.mjs"]) {
    assert.ok(existsSync(join(out, f)), `${f} exported`);
  }
  assert.equal(readdirSync(join(out, "thumbs")).length, IMAGE_COUNT);
  const expected = new Map(QUERIES.map((q) => [q, cliSearch(q)]));
  await withSitePage(out, async (page) => {
    assert.match((await page.textContent("#status"))!, new RegExp(`이미지 ${IMAGE_COUNT}장`));
    for (const [i, query] of QUERIES.entries()) {
      const shown = await pageSearch(page, query, 10);
      const want = expected.get(query)!;
      assert.deepEqual(shown.map((h) => h.id), want.map((h) => h.id), `top-10 ids for “${query}”`);
      shown.forEach((h, r) => assert.ok(Math.abs(h.score - want[r]!.score) <= 1e-3, `“${query}” rank ${r + 1}: page ${h.score} vs cli ${want[r]!.score}`));
      if (i === 0 && process.env.KOCLIP_SITE_SCREENSHOT) {
        await page.waitForFunction("[...document.querySelectorAll('#results img')].every((i) => i.complete && i.naturalWidth > 0)");
        await page.screenshot({ path: process.env.KOCLIP_SITE_SCREENSHOT });
      }
    }
    // Image search: the clicked image finds itself first (its vector against itself).
    const first = await page.getAttribute("#results .hit:first-child", "data-id");
    await page.click("#results .hit:first-child a");
    await page.waitForSelector("#similar .hit");
    assert.equal(await page.getAttribute("#similar .hit:first-child", "data-id"), first);
    assert.ok(Number(await page.getAttribute("#similar .hit:first-child", "data-score")) > 0.999);
  });
});

test("static site with int8 vectors: the same best match, scores within 0.01", { skip }, async () => {
  const out = join(work, "site-int8");
  exportSiteCli(out, "--vectors", "int8");
  assert.ok(existsSync(join(out, "scales.bin")));
  const query = QUERIES[1]!;
  const want = cliSearch(query);
  await withSitePage(out, async (page) => {
    const shown = await pageSearch(page, query, 10);
    assert.equal(shown[0]!.id, want[0]!.id, "top hit");
    const cli = new Map(want.map((h) => [h.id, h.score]));
    for (const h of shown) if (cli.has(h.id)) assert.ok(Math.abs(h.score - cli.get(h.id)!) <= 0.01, `id ${h.id}: ${h.score} vs ${cli.get(h.id)}`);
  });
});

test("koclip export site: bad input is a one-line error, and a foreign folder is left alone", () => {
  const bad = spawnSync(KOCLIP, ["export", "site", "--db", db, "--out", join(work, "x"), "--vectors", "float64"], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--vectors must be one of float16, int8, got 'float64'/);
  const missing = spawnSync(KOCLIP, ["export", "site", "--db", join(work, "none.db"), "--out", join(work, "y")], { encoding: "utf8" });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no such index/);
  if (skip) return;
  const foreign = join(work, "foreign");
  mkdirSync(foreign);
  writeFileSync(join(foreign, "notes.txt"), "mine\n");
  const refused = spawnSync(KOCLIP, ["export", "site", "--db", db, "--out", foreign], { encoding: "utf8" });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /exists and is not an exported site/);
  assert.deepEqual(readdirSync(foreign), ["notes.txt"]);
});
