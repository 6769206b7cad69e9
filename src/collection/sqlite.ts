/**
 * The slice of better-sqlite3 the index uses, typed here because the package ships no types
 * (and `@types/better-sqlite3` is not installed). Loaded through `createRequire`: it is CommonJS.
 */
import { createRequire } from "node:module";

/** What `run` reports. */
export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

/** A prepared statement; parameters are positional or one object of named values. */
export interface Statement<Row = unknown> {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): Row | undefined;
  all(...params: unknown[]): Row[];
  iterate(...params: unknown[]): IterableIterator<Row>;
}

/** An open database connection. */
export interface Database {
  prepare<Row = unknown>(sql: string): Statement<Row>;
  exec(sql: string): Database;
  pragma(sql: string, opts?: { simple?: boolean }): unknown;
  /** Wraps `fn` in BEGIN/COMMIT (ROLLBACK when it throws). */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) & { immediate: (...args: A) => R };
  close(): void;
  readonly open: boolean;
}

interface DatabaseConstructor {
  new (file: string, opts?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }): Database;
}

const require = createRequire(import.meta.url);

/** Opens (or creates) an SQLite file. `readonly` opens never create or write. */
export function openSqlite(file: string, opts: { readonly?: boolean } = {}): Database {
  const Ctor = require("better-sqlite3") as DatabaseConstructor;
  return new Ctor(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false, timeout: 10_000 });
}
