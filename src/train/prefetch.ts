/**
 * Batches built ahead of time in a worker thread (batch_worker.ts). The main thread spends a
 * training step inside libtorch; meanwhile the worker prepares the next `depth` batches, so the
 * step only waits when the worker falls behind (the wait is what `data-wait` reports).
 */
import { Worker } from "node:worker_threads";
import type { BadRow, PairRow } from "../data/datasets.js";
import type { Batch, LoaderOptions } from "./data.js";

export class PrefetchingLoader {
  readonly #worker: Worker;
  readonly #pending = new Map<string, { resolve: (b: Batch) => void; reject: (e: Error) => void; promise: Promise<Batch> }>();
  #failure: Error | null = null;

  private constructor(worker: Worker, readonly rowCount: number, readonly bad: BadRow[], readonly batchesPerEpoch: number) {
    this.#worker = worker;
    worker.on("message", (msg: { kind: string; epoch: number; index: number; batch: Batch }) => {
      if (msg.kind !== "batch") return;
      const key = `${msg.epoch}/${msg.index}`;
      this.#pending.get(key)?.resolve(msg.batch);
    });
    worker.on("error", (err) => this.#fail(err));
  }

  #fail(err: Error): void {
    this.#failure = err;
    for (const p of this.#pending.values()) p.reject(err);
  }

  /** Starts the worker, which decodes every image; resolves once it is ready. */
  static create(rows: PairRow[], opts: LoaderOptions, concurrency: number, onProgress?: (done: number, total: number) => void): Promise<PrefetchingLoader> {
    const worker = new Worker(new URL("./batch_worker.js", import.meta.url), { workerData: { rows, opts, concurrency } });
    return new Promise((resolve, reject) => {
      const onMessage = (msg: { kind: string; done: number; total: number; rows: number; bad: BadRow[]; batchesPerEpoch: number }) => {
        if (msg.kind === "progress") onProgress?.(msg.done, msg.total);
        if (msg.kind === "ready") {
          worker.off("message", onMessage);
          worker.off("error", reject);
          resolve(new PrefetchingLoader(worker, msg.rows, msg.bad, msg.batchesPerEpoch));
        }
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
    });
  }

  #request(epoch: number, index: number): Promise<Batch> {
    const key = `${epoch}/${index}`;
    let entry = this.#pending.get(key);
    if (!entry) {
      if (this.#failure) return Promise.reject(this.#failure);
      let resolve!: (b: Batch) => void, reject!: (e: Error) => void;
      const promise = new Promise<Batch>((res, rej) => { resolve = res; reject = rej; });
      entry = { resolve, reject, promise };
      this.#pending.set(key, entry);
      this.#worker.postMessage({ kind: "batch", epoch, index });
    }
    return entry.promise;
  }

  /** Batch (epoch, index), after asking the worker for the ones at `ahead` positions too. */
  async batch(epoch: number, index: number, ahead: [number, number][] = []): Promise<Batch> {
    const wanted = this.#request(epoch, index);
    for (const [e, i] of ahead) void this.#request(e, i).catch(() => {});
    const b = await wanted;
    this.#pending.delete(`${epoch}/${index}`);
    return b;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
