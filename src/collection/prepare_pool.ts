/**
 * Worker threads that prepare files (prepare.ts) for `indexFolder` and `embedShard`, and the step
 * after them: running the decoded pixels through the model.
 */
import { Worker } from "node:worker_threads";
import { uninitializedFloat32 } from "../image/index.js";
import type { PretrainedModel } from "../models/pretrained.js";
import type { Decoded, Prepared, PrepareRequest } from "./prepare.js";

/** Each worker holds its own V8 heap and sharp; past 8 the model, not preparation, is the limit. */
export const MAX_PREPARE_WORKERS = 8;

/** A prepare worker (prepare_worker.ts): one request per slice of a batch, answered in any order. */
class PrepareWorker {
  readonly #worker = new Worker(new URL("./prepare_worker.js", import.meta.url));
  readonly #pending = new Map<number, { resolve: (p: Prepared[]) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  /** Set once the worker died: later requests fail at once instead of waiting forever. */
  #failure: Error | null = null;

  /** `keepsProcessAlive` false: a spare (startPrepareWorkers) that the process may exit without. */
  constructor(keepsProcessAlive = true) {
    this.#worker.on("error", (err) => {
      this.#failure = err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    });
    if (keepsProcessAlive) this.#listen();
    else this.#worker.unref();
  }

  /**
   * Takes the answers. Node keeps the process alive while a worker has a 'message' listener
   * (whatever worker.unref() said), so a spare attaches it only when a pool takes it.
   */
  #listen(): void {
    this.#worker.on("message", (msg: { id: number; prepared?: Prepared[]; error?: string }) => {
      const p = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.error !== undefined || !msg.prepared) p?.reject(new Error(msg.error));
      // Buffers arrive as plain Uint8Arrays; SQLite wants Buffers.
      else p?.resolve(msg.prepared.map((r) => (r.kind === "decoded" && r.thumbnail ? { ...r, thumbnail: Buffer.from(r.thumbnail.buffer, r.thumbnail.byteOffset, r.thumbnail.byteLength) } : r)));
    });
  }

  /** Taken into a pool: the process now waits for it and its answers. */
  ref(): this {
    this.#worker.ref();
    this.#listen();
    return this;
  }

  prepare(request: PrepareRequest): Promise<Prepared[]> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, request });
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/** Workers started by startPrepareWorkers that no pool has taken yet. */
const spareWorkers: PrepareWorker[] = [];

/**
 * Starts `count` prepare workers now for the next PreparePool to take. Each takes ~0.2 s to load
 * sharp and the addon, which then overlaps what the caller does meanwhile (`koclip index` and
 * `koclip embed` load their model). Workers no pool takes do not keep the process alive.
 */
export function startPrepareWorkers(count: number): void {
  while (spareWorkers.length < Math.min(count, MAX_PREPARE_WORKERS)) spareWorkers.push(new PrepareWorker(false));
}

/** One prepare worker per core; a batch is cut into contiguous slices, one per worker. */
export class PreparePool {
  readonly #workers: PrepareWorker[];

  /** `size` workers, started ones (startPrepareWorkers) first. */
  constructor(size: number) {
    this.#workers = Array.from({ length: Math.max(1, size) }, () => spareWorkers.pop()?.ref() ?? new PrepareWorker());
  }

  async prepare(request: PrepareRequest): Promise<Prepared[]> {
    const per = Math.ceil(request.files.length / this.#workers.length);
    const slices = this.#workers.flatMap((w, i) => {
      const files = request.files.slice(i * per, (i + 1) * per);
      return files.length ? [w.prepare({ ...request, files })] : [];
    });
    return (await Promise.all(slices)).flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.close()));
  }
}

/** Embeddings of decoded files (prepared with the model's imageConfig), one per file, in order. */
export async function encodeDecoded(decoded: Decoded[], model: PretrainedModel, batchSize: number): Promise<Float32Array[]> {
  if (decoded.length === 0) return [];
  const s = model.encoder.imageSize;
  const plane = 3 * s * s;
  const data = uninitializedFloat32(decoded.length * plane);
  decoded.forEach((p, i) => {
    if (p.pixels?.length !== plane) throw new Error(`${p.file.rel}: preprocessing gave ${p.pixels?.length ?? 0} values, the model takes 3x${s}x${s}`);
    data.set(p.pixels, i * plane);
  });
  return model.encodeImages([{ data, shape: [decoded.length, 3, s, s] }], { batchSize });
}

/**
 * Prepares each batch and hands it to `consume`, in order. With `overlap` the next batch is
 * prepared while `consume` runs; that pays only on a GPU (see build.ts for why not on the CPU).
 */
export async function forEachPrepared<T>(batches: T[][], prepare: (batch: T[]) => Promise<Prepared[]>, consume: (prepared: Prepared[]) => Promise<void>, overlap: boolean): Promise<void> {
  let next = batches.length ? prepare(batches[0]!) : null;
  for (let b = 0; b < batches.length; b++) {
    const ready = await next!;
    const prepareNext = () => (b + 1 < batches.length ? prepare(batches[b + 1]!) : null);
    if (overlap) next = prepareNext();
    await consume(ready);
    if (!overlap) next = prepareNext();
  }
}

/** Throws unless `n` is a usable batch size (a positive integer). */
export function checkBatchSize(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`batchSize must be a positive integer, got ${n}`);
}

/** `items` cut into runs of `size`. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
