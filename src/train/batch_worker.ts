/**
 * Worker thread that owns a PairLoader and builds batches on request, so cropping, jitter and
 * normalisation run while the main thread is inside libtorch. Messages:
 *   in:  { kind: "batch", epoch, index }      out: { kind: "batch", epoch, index, batch }
 * The loader is created from the workerData options; its first message reports readiness.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { PairRow } from "../data/datasets.js";
import { PairLoader, type LoaderOptions } from "./data.js";

interface Init {
  rows: PairRow[];
  opts: LoaderOptions;
  concurrency: number;
}

const init = workerData as Init;
const loader = await PairLoader.create(init.rows, init.opts, init.concurrency, (done, total) => parentPort!.postMessage({ kind: "progress", done, total }));
parentPort!.postMessage({ kind: "ready", rows: loader.rows.length, bad: loader.bad, batchesPerEpoch: loader.batchesPerEpoch });
parentPort!.on("message", (msg: { kind: "batch"; epoch: number; index: number }) => {
  const batch = loader.batch(msg.epoch, msg.index);
  parentPort!.postMessage({ kind: "batch", epoch: msg.epoch, index: msg.index, batch }, [batch.pixels.buffer as ArrayBuffer]);
});
