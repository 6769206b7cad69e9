/** How the benchmark sections time things, and how long they try. */

/** Run-wide settings every section reads. */
export interface BenchOptions {
  /** Smoke run: a second or so per measurement and small inputs; numbers are not meaningful. */
  quick: boolean;
  /** Least wall time one measurement runs for (after warm-up). */
  minSeconds: number;
}

/**
 * Mean wall seconds per call of `fn` (sync or async), after `warmup` untimed calls, over at
 * least `minSeconds` and at least `minCalls` calls.
 */
export async function secondsPerCall(fn: () => unknown, minSeconds: number, opts: { warmup?: number; minCalls?: number } = {}): Promise<number> {
  for (let i = 0; i < (opts.warmup ?? 1); i++) await fn();
  const minCalls = opts.minCalls ?? 2;
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < minSeconds * 1000 || calls < minCalls) {
    await fn();
    calls++;
    elapsed = performance.now() - t0;
  }
  return elapsed / 1000 / calls;
}

/** The median of a list of numbers (the mean of the middle two for even lengths). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Progress for long sections, on stderr so stdout keeps only the table. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
