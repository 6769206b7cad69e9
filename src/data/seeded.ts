/**
 * Stable hashing and seeded random numbers for dataset builds.
 *
 * Everything random in a build (backgrounds, jitter, splits) is derived from a hash of a string
 * such as `"0|twemoji|1f600"`, never from a shared generator, so an image comes out the same
 * whatever the order, concurrency or `--limit` of the build.
 */
import { createHash } from "node:crypto";

/**
 * Maps a string to a number in [0, 1) by its SHA-256; the same on every machine and run.
 *
 *   stableUnit("1f600") // 0.1896740871015936 on every machine
 */
export function stableUnit(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * A small seeded generator (mulberry32): 32 bits of state is plenty for picking colours and
 * offsets, and it is fast and identical across platforms.
 *
 *   const rng = new SeededRandom("0|noto|1f431");
 *   rng.next(); // in [0, 1)
 */
export class SeededRandom {
  private state: number;

  constructor(seed: string) {
    this.state = createHash("sha256").update(seed).digest().readUInt32BE(0);
  }

  /** Next number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** Uniform number in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (both ends included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}
