/**
 * `npm run bench [-- SECTION ...] [--quick] [--vectors N]`: our numbers next to the peers users
 * would pick, measured in the same run, with the ratio and the issue's goal per row. Not part of
 * the tests. Sections (default: all, in this order):
 *   peak    the vector units' arithmetic ceiling: float32 FMA, int8 VNNI, bfloat16 dot products
 *   engine  matmul / linear / per-op overhead vs Debian's python3-torch
 *   models  ViT-B/32 and RoBERTa-large towers vs onnxruntime at the same precision (fp32, int8), bf16 and int8 vs its fp32
 *   index   `koclip index` on a folder of JPEGs vs the bare image encoder; reduced decode vs exact
 *   train   one CPU training step (koclip-emoji shapes, batch 256, fp32 and bf16) vs python3-torch
 *   search  HNSW top-10 over N 512-d vectors vs exact search (latency, recall, build time)
 *   gpu     training pairs/s on CUDA vs HF transformers' reference number
 *   dist    data-parallel koclip-emoji training: one rank per core vs one rank on all cores, all-reduce ms/step
 * --quick is a smoke run (short timings, small inputs; the numbers mean nothing).
 */
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import * as T from "../src/torch/index.js";
import { formatTable, type BenchRow } from "./table.js";
import { log, type BenchOptions } from "./timing.js";

type Run = (opts: BenchOptions & { vectors: number }) => Promise<BenchRow[]>;
// Loaded on demand: a section's dependencies (onnxruntime, sharp, usearch) load only when it runs.
const SECTIONS = {
  peak: async (): Promise<Run> => (await import("./peak.js")).benchPeak,
  engine: async (): Promise<Run> => (await import("./engine.js")).benchEngine,
  models: async (): Promise<Run> => (await import("./models.js")).benchModels,
  index: async (): Promise<Run> => (await import("./index_pipeline.js")).benchIndex,
  train: async (): Promise<Run> => (await import("./train_step.js")).benchTrain,
  search: async (): Promise<Run> => (await import("./search.js")).benchSearch,
  gpu: async (): Promise<Run> => (await import("./gpu.js")).benchGpu,
  dist: async (): Promise<Run> => (await import("./distributed.js")).benchDistributed,
};
type Section = keyof typeof SECTIONS;

const { values, positionals } = parseArgs({
  options: { quick: { type: "boolean" }, vectors: { type: "string" }, help: { type: "boolean" } },
  allowPositionals: true,
});
if (values.help) {
  console.log(`usage: npm run bench [-- SECTION ...] [--quick] [--vectors N]\nsections: ${Object.keys(SECTIONS).join(" ")} (default: all)`);
  process.exit(0);
}
const unknown = positionals.filter((s) => !(s in SECTIONS));
if (unknown.length) {
  console.error(`unknown section(s) ${unknown.join(", ")}; known: ${Object.keys(SECTIONS).join(", ")}`);
  process.exit(2);
}
const sections = (positionals.length ? positionals : Object.keys(SECTIONS)) as Section[];
const quick = values.quick === true;
const vectorsArg = values.vectors ?? process.env.KOCLIP_BENCH_VECTORS;
const vectors = vectorsArg === undefined ? (quick ? 20_000 : 1_000_000) : Number(vectorsArg);
if (!Number.isInteger(vectors) || vectors < 1000) {
  console.error(`--vectors must be an integer >= 1000, got '${vectorsArg}'`);
  process.exit(2);
}
const opts = { quick, minSeconds: quick ? 1 : 15, vectors };

const info = T.buildInfo();
const blas = /BLAS_INFO=(\w+)/.exec(info.config)?.[1] ?? "?";
const capability = /CPU capability usage: (\w+)/.exec(info.config)?.[1] ?? "?";
const onednn = /MKL-DNN v([\d.]+)/.exec(info.config)?.[1];
console.log(`# koclip benchmarks — ${new Date().toISOString().slice(0, 10)}${quick ? " (--quick: smoke run, numbers not meaningful)" : ""}`);
console.log(
  `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}); libtorch ${info.torchVersion}, BLAS_INFO=${blas} ` +
    `(Debian: OpenBLAS via libblas.so.3${info.openblasCore ? `, ${info.openblasLibrary}, ${info.openblasCore} kernels, OPENBLAS_CORETYPE ${process.env.OPENBLAS_CORETYPE ?? "unset"}` : ""})${onednn ? `, oneDNN ${onednn}` : ""}, ATen CPU kernels ${capability} (addon's AVX-512 kernels ${info.avx512Kernels ? "on" : "off"}), ` +
    `${info.onednnMatmul ? "fp32 and int8 Linear on oneDNN called by the addon" : `fp32 Linear on libtorch's BLAS, int8 on libtorch's quantized::linear_dynamic (${T.quantizedEngine()})`}, ` +
    `${T.numThreads()} intra-op threads (OMP_WAIT_POLICY ${process.env.OMP_WAIT_POLICY ?? "unset"}), allocator ${info.allocator}, CUDA ${T.cudaAvailable() ? "yes" : "no"}`,
);
const rows: BenchRow[] = [];
for (const s of sections) {
  log(`section ${s}`);
  const t0 = performance.now();
  rows.push(...(await (await SECTIONS[s]())(opts)));
  log(`section ${s} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
console.log(formatTable(rows));
