/**
 * The model queue: one model job at a time, at most `limit` waiting or running, and consecutive
 * jobs of the same batch key merged into one forward pass (200 text searches arriving together
 * become a few encodeTexts calls of `maxBatch` texts, not 200 calls).
 *
 *   const q = new ModelQueue({ limit: 256, maxBatch: 32 });
 *   const [vec] = await Promise.all(texts.map((t) => q.batch("text", t, (ts) => model.encodeTexts(ts))));
 *   await q.run(() => classifyImages(model, [buf], labels));   // a job of its own
 *
 * libtorch already spreads one forward pass over every core, so running two passes at once would
 * only make both slower and double the peak memory; serialising them bounds memory by the queue
 * limit times the largest request.
 */

/** Thrown by `run`/`batch` when the queue is full; the server answers 503. */
export class QueueFullError extends Error {
  override name = "QueueFullError";
  constructor(readonly limit: number) {
    super(`the model queue is full (${limit} requests waiting); try again shortly`);
  }
}

interface SoloJob {
  kind: "solo";
  fn: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface BatchJob {
  kind: "batch";
  key: string;
  item: unknown;
  fn: (items: unknown[]) => Promise<unknown[]>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Job = SoloJob | BatchJob;

export interface QueueStats {
  /** Jobs waiting plus the one running (a merged batch counts each of its items). */
  depth: number;
  running: boolean;
  limit: number;
  /** Jobs finished (resolved or failed) since start. */
  served: number;
  /** Jobs refused because the queue was full. */
  rejected: number;
  /** Model calls made (a merged batch is one), so served / passes is the mean batch size. */
  passes: number;
}

export class ModelQueue {
  private readonly waiting: Job[] = [];
  private inFlight = 0;
  /** A drain loop is running (it may be between jobs, yielding to the event loop). */
  private draining = false;
  private served = 0;
  private passes = 0;
  private rejected = 0;
  readonly limit: number;
  readonly maxBatch: number;

  constructor(opts: { limit: number; maxBatch: number }) {
    if (!(opts.limit >= 1) || !(opts.maxBatch >= 1)) throw new Error(`queue limit and maxBatch must be >= 1 (got ${opts.limit}, ${opts.maxBatch})`);
    this.limit = opts.limit;
    this.maxBatch = opts.maxBatch;
  }

  stats(): QueueStats {
    return { depth: this.waiting.length + this.inFlight, running: this.inFlight > 0, limit: this.limit, served: this.served, rejected: this.rejected, passes: this.passes };
  }

  /** Runs `fn` alone once every job before it has finished. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.admit({ kind: "solo", fn, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /**
   * Queues `item`; when its turn comes, it and the items queued right after it with the same key
   * (up to maxBatch) go to `fn` together, which must return one result per item, in order.
   */
  batch<I, O>(key: string, item: I, fn: (items: I[]) => Promise<O[]>): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.admit({ kind: "batch", key, item, fn: fn as (items: unknown[]) => Promise<unknown[]>, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private admit(job: Job): void {
    if (this.waiting.length + this.inFlight >= this.limit) {
      this.rejected++;
      job.reject(new QueueFullError(this.limit));
      return;
    }
    this.waiting.push(job);
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.waiting.length > 0) {
      // Let the event loop read the requests that arrived while the last job ran (model code
      // blocks the loop), so they join this batch instead of each waiting for a pass of its own.
      await new Promise<void>((r) => setImmediate(r));
      const first = this.waiting[0]!;
      const jobs: Job[] = [first];
      if (first.kind === "batch") {
        let n = 1;
        while (n < this.waiting.length && jobs.length < this.maxBatch) {
          const next = this.waiting[n]!;
          if (next.kind !== "batch" || next.key !== first.key) break;
          jobs.push(next);
          n++;
        }
      }
      this.waiting.splice(0, jobs.length);
      this.inFlight = jobs.length;
      try {
        if (first.kind === "solo") {
          first.resolve(await first.fn());
        } else {
          const batch = jobs as BatchJob[];
          const out = await first.fn(batch.map((j) => j.item));
          if (out.length !== batch.length) throw new Error(`batch function returned ${out.length} results for ${batch.length} items`);
          batch.forEach((j, i) => j.resolve(out[i]));
        }
      } catch (err) {
        for (const j of jobs) j.reject(err);
      } finally {
        this.served += jobs.length;
        this.passes++;
        this.inFlight = 0;
      }
    }
    this.draining = false;
  }
}
