/**
 * Data-parallel training on this machine's cores: `koclip train` of koclip-emoji (models/) on a
 * rendered emoji set, as 1 rank with every core against one rank per core (`--nproc N`, one
 * thread each, Gloo on loopback), the same global batch and steps. Reports both runs' pairs/s
 * (from metrics.jsonl, rank 0's clock) and the gradient all-reduce's wall time per step, which
 * includes waiting for the slower rank.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { buildEmojiDataset } from "../src/data/emoji.js";
import { readSafetensors } from "../src/formats/index.js";
import type { BenchRow } from "./table.js";
import { log, type BenchOptions } from "./timing.js";

const ROOT = join(import.meta.dirname, "..", "..");
const MODEL = join(ROOT, "models", "koclip-emoji");
const BATCH = 64;

interface RunStats { pairsPerSecond: number; allReduceMs: number | null }

function trainRun(data: string, out: string, nproc: number, steps: number): RunStats {
  const args = ["train", "--model", MODEL, "--data", data, "--out", out, "--batch-size", String(BATCH), "--steps", String(steps),
    "--log-every", String(steps), "--nproc", String(nproc)];
  const r = spawnSync(join(ROOT, "bin", "koclip"), args, { encoding: "utf8", env: { ...process.env, KOCLIP_NUM_THREADS: String(availableParallelism()) } });
  if (r.status !== 0) throw new Error(`koclip ${args.join(" ")} failed:\n${r.stderr}`);
  const last = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).at(-1);
  return { pairsPerSecond: last.pairs_per_s, allReduceMs: last.allreduce_ms ?? null };
}

export async function benchDistributed(opts: BenchOptions): Promise<BenchRow[]> {
  const cores = availableParallelism();
  const steps = opts.quick ? 4 : 40;
  const work = mkdtempSync(join(tmpdir(), "koclip-bench-dist-"));
  try {
    log("rendering an emoji set for koclip-emoji (64 px)");
    await buildEmojiDataset({ outDir: join(work, "emoji"), limit: 120, styles: ["twemoji", "fluent-flat", "openmoji"], size: 64, seed: 0 });
    const data = join(work, "emoji", "train.jsonl");
    const gradBytes = [...readSafetensors(join(MODEL, "model.safetensors")).values()].reduce((n, t) => n + (t.data.byteLength / (t.dtype === "F32" ? 4 : 2)) * 4, 0);
    log(`1 rank × ${cores} threads, ${steps} steps of ${BATCH} pairs`);
    const one = trainRun(data, join(work, "one"), 1, steps);
    log(`${cores} ranks × 1 thread, ${steps} steps of ${BATCH} pairs`);
    const many = trainRun(data, join(work, "many"), cores, steps);
    const name = `training koclip-emoji, batch ${BATCH}, fp32 AdamW`;
    return [
      { name: `${name}: ${cores} ranks × 1 thread (Gloo)`, unit: "pairs/s", ours: many.pairsPerSecond, peer: one.pairsPerSecond, peerName: `1 rank × ${cores} threads (this run)`, higherIsBetter: true },
      { name: `gradient all-reduce per step, ${(gradBytes / 2 ** 20).toFixed(1)} MB fp32 over ${cores} ranks`, unit: "ms", ours: many.allReduceMs, peer: null, peerName: "", higherIsBetter: false },
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
