/**
 * Tensor-engine benchmarks against Debian's python3-torch (the same libtorch 1.13 + OpenBLAS):
 * large matmul throughput, bf16 linear (oneDNN), and the per-op cost of crossing the binding.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as T from "../src/torch/index.js";
import type { BenchRow } from "./table.js";
import { secondsPerCall, type BenchOptions } from "./timing.js";

const PYTHON = "/usr/bin/python3"; // Debian's, where python3-torch installs (not a pyenv shim)

async function ours(minSeconds: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const a = T.randn([1024, 1024], { seed: 1 }), b = T.randn([1024, 1024], { seed: 2 });
  out.matmul = (2 * 1024 ** 3) / await secondsPerCall(() => a.matmul(b).dispose(), minSeconds) / 1e9;
  const x = T.randn([800, 768], { seed: 3 }).toDtype("bfloat16"), w = T.randn([3072, 768], { seed: 4 }).toDtype("bfloat16");
  out.linearBf16 = (2 * 800 * 768 * 3072) / await secondsPerCall(() => x.linear(w).dispose(), minSeconds) / 1e9;
  const xf = x.toDtype("float32"), wf = w.toDtype("float32");
  out.linearF32 = (2 * 800 * 768 * 3072) / await secondsPerCall(() => xf.linear(wf).dispose(), minSeconds) / 1e9;
  const small = T.ones([4]);
  out.opOverhead = await secondsPerCall(() => { for (let i = 0; i < 1000; i++) small.add(1).dispose(); }, minSeconds / 2) / 1000 * 1e6;
  T.disposeAll([a, b, x, w, xf, wf, small]);
  return out;
}

const PEER_SCRIPT = `
import json, time, torch
import sys
MIN_S = float(sys.argv[1])
def time_it(fn, min_s):
    fn(); reps = 0; t0 = time.perf_counter()
    while time.perf_counter() - t0 < min_s or reps < 2:
        fn(); reps += 1
    return (time.perf_counter() - t0) / reps
torch.set_num_threads(int(__import__('os').cpu_count()))
out = {}
g = torch.Generator().manual_seed(1)
a = torch.randn(1024, 1024, generator=g); b = torch.randn(1024, 1024, generator=g)
out['matmul'] = 2 * 1024**3 / time_it(lambda: a @ b, MIN_S) / 1e9
x = torch.randn(800, 768, generator=g).bfloat16(); w = torch.randn(3072, 768, generator=g).bfloat16()
out['linearBf16'] = 2 * 800 * 768 * 3072 / time_it(lambda: torch.nn.functional.linear(x, w), MIN_S) / 1e9
xf = x.float(); wf = w.float()
out['linearF32'] = 2 * 800 * 768 * 3072 / time_it(lambda: torch.nn.functional.linear(xf, wf), MIN_S) / 1e9
small = torch.ones(4)
def loop():
    for _ in range(1000): small.add(1)
out['opOverhead'] = time_it(loop, MIN_S / 2) / 1000 * 1e6
out['version'] = torch.__version__
print(json.dumps(out))
`;

function peer(minSeconds: number): Record<string, number> | null {
  if (!existsSync(PYTHON)) return null;
  const r = spawnSync(PYTHON, ["-c", PEER_SCRIPT, String(minSeconds)], { encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`peer python3-torch unavailable (apt-get install python3-torch): ${r.stderr.trim().split("\n").pop()}`);
    return null;
  }
  return JSON.parse(r.stdout);
}

/** Runs the engine rows. */
export async function benchEngine(opts: BenchOptions): Promise<BenchRow[]> {
  const minSeconds = opts.quick ? 0.3 : 2;
  const o = await ours(minSeconds);
  const p = peer(minSeconds);
  const peerName = p ? `python3-torch ${String((p as Record<string, unknown>).version)}` : "python3-torch (missing)";
  const row = (name: string, unit: string, key: string, higherIsBetter: boolean): BenchRow => ({
    name, unit, ours: o[key]!, peer: p ? p[key]! : null, peerName, higherIsBetter,
  });
  return [
    row("matmul 1024³ fp32", "GFLOP/s", "matmul", true),
    row("linear 800×768·768×3072 fp32", "GFLOP/s", "linearF32", true),
    row("linear 800×768·768×3072 bf16", "GFLOP/s", "linearBf16", true),
    row("per-op overhead (add on 4 floats)", "µs/op", "opOverhead", false),
  ];
}
