/**
 * Progress of a long evaluation on stderr: counts and rate on one line, rewritten in place on a
 * terminal; on a pipe or log file, one line per 10% so logs stay short.
 *
 *   const p = progressReporter("images", 1914);
 *   p.tick(32);      // images 32/1914 (1.7%) 41.0/s
 *   p.done();
 */

/** Receives counts of finished items. */
export interface Progress {
  tick(n: number): void;
  done(): void;
}

/** Makes a Progress for `total` items of a kind ("images", "texts"). */
export type ProgressFactory = (label: string, total: number) => Progress;

/** A Progress that prints nothing (the library default; the CLI passes a real one). */
export const SILENT: Progress = { tick() {}, done() {} };

/** Where progress is written: process.stderr, or anything with write() and an optional isTTY. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

export function progressReporter(label: string, total: number, stream: ProgressStream = process.stderr, now: () => number = () => performance.now()): Progress {
  const start = now();
  const tty = stream.isTTY === true;
  let count = 0;
  let lastDecile = 0;
  let lastDraw = -Infinity;
  let finished = false;
  const line = () => {
    const secs = (now() - start) / 1000;
    const pct = total > 0 ? ((100 * count) / total).toFixed(1) : "100.0";
    const rate = secs > 0 ? (count / secs).toFixed(1) : "-";
    return `${label} ${count}/${total} (${pct}%) ${rate}/s`;
  };
  return {
    tick(n: number) {
      count = Math.min(total, count + n);
      if (tty) {
        // redraw at most ten times a second; a terminal can't show more
        if (now() - lastDraw < 100 && count < total) return;
        lastDraw = now();
        stream.write(`\r${line()}\x1b[K`);
      } else {
        const decile = total > 0 ? Math.floor((10 * count) / total) : 10;
        if (decile > lastDecile) {
          lastDecile = decile;
          stream.write(line() + "\n");
        }
      }
    },
    done() {
      if (finished) return;
      finished = true;
      if (tty) stream.write(`\r${line()}\x1b[K\n`);
      else if (lastDecile < 10) stream.write(line() + "\n");
    },
  };
}
