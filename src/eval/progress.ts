/**
 * How a long evaluation reports progress: the library calls tick/done; what is shown is the
 * caller's (the CLI's ProgressLine in src/cli/progress.ts).
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
