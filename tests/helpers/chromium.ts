/**
 * Debian's Chromium (`apt-get install chromium`) driven by playwright-core: no browser is ever
 * downloaded. The browser tests and `npm run bench:site` launch it the same way.
 */
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = process.env.KOCLIP_CHROMIUM ?? "/usr/bin/chromium";

/** A headless Chromium with its profile in `profileDir`, no background traffic, an 1100×900 page. */
export function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    viewport: { width: 1100, height: 900 },
  });
}
