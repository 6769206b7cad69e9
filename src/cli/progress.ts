/**
 * The one progress display of the long commands (index, eval, compare, train, data), on stderr:
 * on a terminal one line rewritten in place, at most ten times a second; in a log or pipe a line
 * when the work starts, one per further tenth of it, and the last, so a log stays short whatever
 * the batch size.
 *
 *   const line = new ProgressLine();
 *   line.update(done, total, `images ${done}/${total}`);
 *   line.end();
 */
import type { Progress } from "../eval/progress.js";

/** Where progress is written: process.stderr, or anything with write() and an optional isTTY. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class ProgressLine {
  private readonly tty: boolean;
  private lastDraw = -Infinity;
  private started = false;
  private lastTenth = 0;
  private last: string | null = null;
  private lastWritten: string | null = null;
  private ended = false;

  constructor(private readonly stream: ProgressStream = process.stderr, private readonly now: () => number = () => performance.now()) {
    this.tty = stream.isTTY === true;
  }

  /** `text` describes `done` of `total`; whether it is shown depends on the stream (see above). */
  update(done: number, total: number, text: string): void {
    this.last = text;
    if (this.tty) {
      if (this.now() - this.lastDraw < 100 && done < total) return;
      this.lastDraw = this.now();
      this.stream.write(`\r${text}\x1b[K`);
      return;
    }
    const tenth = total > 0 ? Math.floor((10 * Math.min(done, total)) / total) : 10;
    if (done === 0 ? this.started : tenth <= this.lastTenth) return;
    this.started = true;
    this.lastTenth = Math.max(this.lastTenth, tenth);
    this.lastWritten = text;
    this.stream.write(text + "\n");
  }

  /** Shows the last state if it was not shown, and ends the terminal line. */
  end(): void {
    if (this.ended || !this.last) return;
    this.ended = true;
    if (this.tty) this.stream.write(`\r${this.last}\x1b[K\n`);
    else if (this.lastWritten !== this.last) this.stream.write(this.last + "\n");
  }
}

/**
 * A Progress (eval's interface) over a ProgressLine: `label count/total (pct%) rate/s`.
 *
 *   const p = progressReporter("images", 1914);
 *   p.tick(32);      // images 32/1914 (1.7%) 41.0/s
 *   p.done();
 */
export function progressReporter(label: string, total: number, stream: ProgressStream = process.stderr, now: () => number = () => performance.now()): Progress {
  const start = now();
  const line = new ProgressLine(stream, now);
  let count = 0;
  const text = () => {
    const secs = (now() - start) / 1000;
    const pct = total > 0 ? ((100 * count) / total).toFixed(1) : "100.0";
    const rate = secs > 0 ? (count / secs).toFixed(1) : "-";
    return `${label} ${count}/${total} (${pct}%) ${rate}/s`;
  };
  return {
    tick(n: number) {
      count = Math.min(total, count + n);
      line.update(count, total, text());
    },
    done() {
      if (count === 0) line.update(0, total, text());
      line.end();
    },
  };
}
