/**
 * `npm run bench`: our numbers next to the peers users would pick, measured in the same run.
 * Not part of the tests. Peers: Debian's python3-torch for the engine rows.
 */
import { cpus } from "node:os";
import * as T from "../src/torch/index.js";
import { benchEngine } from "./engine.js";
import { formatTable, type BenchRow } from "./table.js";

const info = T.buildInfo();
const blas = /BLAS_INFO=(\w+)/.exec(info.config)?.[1] ?? "?";
console.log(`# koclip benchmarks — ${new Date().toISOString().slice(0, 10)}`);
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}); libtorch ${info.torchVersion}, BLAS_INFO=${blas} ` +
  `(Debian: OpenBLAS via libblas.so.3), ${T.numThreads()} intra-op threads, allocator ${info.allocator}`);
const rows: BenchRow[] = [...benchEngine()];
console.log(formatTable(rows));
