/**
 * The server's default limits, and merging overrides into them. Each bounds one thing a client
 * controls, so a single request's memory and time are bounded, and the queue bounds how many
 * requests hold memory at once.
 *
 *   resolveLimits({ maxPixels: 4_000_000 })   // the defaults with a 4-megapixel cap
 */
import type { ServerLimits } from "./types.js";

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxUploadBytes: 10 * 1024 * 1024,
  // 40 megapixels decode to ~120 MB of RGB; a phone photo is 12–50 MP, so larger ones are refused.
  maxPixels: 40_000_000,
  maxBatch: 32,
  maxTextLength: 200,
  maxLabels: 50,
  maxK: 100,
  maxQueue: 256,
  maxJsonBytes: 256 * 1024,
});

/** DEFAULT_LIMITS with `overrides` applied; every value must be a positive integer. */
export function resolveLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`server limit ${name} must be a positive integer, got ${value}`);
  }
  return limits;
}
