// Takes docs/page.png: the page of a running `koclip serve` after a Korean search and an upload.
//   bash scripts/demo.sh &   # or any koclip serve
//   node scripts/screenshot.mjs http://127.0.0.1:3000 data/demo-gallery/images/openmoji/1f431.png docs/page.png
// Uses Debian's Chromium through playwright-core (KOCLIP_CHROMIUM overrides the path), as tests/e2e/web.test.ts does.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, image, out] = process.argv.slice(2);
if (!url || !image || !out) {
  console.error("usage: node scripts/screenshot.mjs URL IMAGE OUT.png");
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), "koclip-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.KOCLIP_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1100, height: 900 },
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(url);
  await page.fill("#query", "고양이");
  await page.press("#query", "Enter");
  await page.waitForSelector("#results .hit");
  await page.waitForFunction("[...document.querySelectorAll('#results img')].every((i) => i.complete && i.naturalWidth > 0)");
  await page.setInputFiles("#file", image);
  await page.waitForSelector("#labels .bar");
  await page.waitForSelector("#similar .hit");
  await page.fill("#patch-text", "고양이");
  await page.click("#patch-form button[type=submit]");
  await page.waitForSelector("#patch-info:not(:empty)");
  await page.waitForFunction("[...document.querySelectorAll('#similar img')].every((i) => i.complete && i.naturalWidth > 0)");
  await page.screenshot({ path: out, fullPage: true });
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
