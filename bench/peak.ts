/**
 * The arithmetic ceiling of this machine's vector units (bench/peak/peak.c, compiled with the C
 * compiler node-gyp uses): float32 FMA, int8 VNNI and bfloat16 dot-product operations per second
 * on 1 thread and on all intra-op threads. The `models` section states each tower's speed as a
 * share of it, ours and the peer's: where both run near the ceiling, no ratio between them can
 * be large (docs/bench.md).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as T from "../src/torch/index.js";
import type { BenchRow } from "./table.js";
import { log, type BenchOptions } from "./timing.js";

const SOURCE = fileURLToPath(new URL("../../bench/peak/peak.c", import.meta.url));

/** GOP/s per kind: [1 thread, all threads]; null where the CPU lacks the instruction. */
export interface Peak {
  fp32: [number, number] | null;
  int8: [number, number] | null;
  bf16: [number, number] | null;
}

let measured: Peak | null | undefined;

/** Measures once per run (null, with the reason logged, where it cannot be built or run). */
export function measurePeak(opts: BenchOptions): Peak | null {
  if (measured !== undefined) return measured;
  const dir = mkdtempSync(join(tmpdir(), "koclip-bench-peak-"));
  try {
    const binary = join(dir, "peak");
    const cc = spawnSync(process.env.CC ?? "cc", ["-O2", "-fopenmp", SOURCE, "-o", binary], { encoding: "utf8" });
    if (cc.status !== 0) {
      log(`peak: cannot compile ${SOURCE}: ${(cc.stderr || String(cc.error)).trim().split("\n")[0]}`);
      return (measured = null);
    }
    const run = spawnSync(binary, [String(T.numThreads()), opts.quick ? "0.2" : "1"], { encoding: "utf8" });
    if (run.status !== 0) {
      log(`peak: ${binary} failed: ${run.stderr.trim()}`);
      return (measured = null);
    }
    return (measured = JSON.parse(run.stdout) as Peak);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchPeak(opts: BenchOptions): Promise<BenchRow[]> {
  const peak = measurePeak(opts);
  const threads = T.numThreads();
  const kinds = [["fp32", "float32 FMA (vfmadd231ps)", "GFLOP/s"], ["int8", "int8 dot products (AVX-512 VNNI vpdpbusd)", "GOP/s"], ["bf16", "bfloat16 dot products (AVX-512 BF16 vdpbf16ps)", "GFLOP/s"]] as const;
  return kinds.map(([kind, what, unit]) => {
    const value = peak?.[kind] ?? null;
    return {
      name: `arithmetic peak, ${what}, ${threads} threads (1 thread: ${value ? value[0].toFixed(0) : "n/a"})`, unit,
      ours: value ? value[1] : null, note: peak ? "not on this CPU" : "not measured (bench/peak/peak.c could not be built or run)", peer: null, peerName: "—", higherIsBetter: true,
    };
  });
}
