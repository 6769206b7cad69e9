/**
 * The static search site (koclip export site) as a visitor gets it: the folder's size by part,
 * then, in headless Chromium (Debian's /usr/bin/chromium, never downloaded) against a loopback
 * static server, the time from opening the page to ready (session and vectors loaded) and the
 * query latency the page itself measures (tokenise, text tower in onnxruntime-web's wasm on one
 * thread, rank every vector), per query: the first run and the median of the next ones.
 *
 *   bin/koclip-node dist/bench/site.js data/demo-site [--screenshot docs/static-site.png] [--query 고양이 ...]
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { launchChromium } from "../tests/helpers/chromium.js";
import sharp from "sharp";
import { serveStatic } from "../tests/helpers/static_server.js";

const RUNS = 10;
const DEFAULT_QUERIES = ["고양이", "빨간 사과", "웃는 얼굴", "바닷가의 강아지", "비 오는 날 우산을 쓴 사람"];

/** Bytes under `path`, recursively. */
function sizeOf(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, f) => sum + sizeOf(join(path, f)), 0);
}

const size = (b: number) => (b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 2 ** 20).toFixed(2)} MiB`);

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { screenshot: { type: "string" }, query: { type: "string", multiple: true } }, allowPositionals: true });
  const dir = positionals[0];
  if (!dir) throw new Error("usage: bin/koclip-node dist/bench/site.js SITE_DIR [--screenshot FILE.png] [--query TEXT ...]");
  const queries = values.query ?? DEFAULT_QUERIES;

  const total = sizeOf(dir);
  console.log(`site ${dir}: ${size(total)}`);
  for (const part of readdirSync(dir).sort()) console.log(`  ${part.padEnd(12)} ${size(sizeOf(join(dir, part)))}`);

  const server = await serveStatic(dir);
  const profile = mkdtempSync(join(tmpdir(), "koclip-chromium-"));
  const context = await launchChromium(profile);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const t0 = performance.now();
    await page.goto(server.url);
    await page.waitForSelector("body[data-ready], body[data-error]", { timeout: 120_000 });
    const error = await page.getAttribute("body", "data-error");
    if (error) throw new Error(`the page failed to load: ${error}`);
    console.log(`page ready (model, tokenizer and vectors loaded) in ${(performance.now() - t0).toFixed(0)} ms`);
    console.log(`query latency in ${await context.browser()?.version() ?? "Chromium"} (tokenise + text tower + rank; first run, median of the next ${RUNS}):`);
    for (const query of queries) {
      const times: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        await page.evaluate(`document.getElementById("search-info").textContent = ""`);
        await page.fill("#query", query);
        await page.press("#query", "Enter");
        await page.waitForFunction(`document.getElementById("search-info").dataset.ms && document.getElementById("search-info").textContent !== ""`);
        times.push(Number(await page.getAttribute("#search-info", "data-ms")));
      }
      const rest = times.slice(1).sort((a, b) => a - b);
      console.log(`  ${query.padEnd(16)} first ${times[0]!.toFixed(1)} ms, median ${rest[Math.floor(rest.length / 2)]!.toFixed(1)} ms`);
    }
    if (values.screenshot) {
      await page.fill("#query", queries[0]!);
      await page.press("#query", "Enter");
      await page.waitForFunction("[...document.querySelectorAll('#results img')].every((i) => i.complete && i.naturalWidth > 0)");
      // A palette PNG: a third of the size of Chromium's truecolour one, for a file committed to docs/.
      writeFileSync(values.screenshot, await sharp(await page.screenshot()).png({ palette: true, quality: 90, effort: 10 }).toBuffer());
      console.log(`screenshot: ${values.screenshot}`);
    }
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
