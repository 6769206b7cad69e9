/**
 * The index's SQLite layout and the bookkeeping in its `meta` table. One file per collection:
 *
 *   meta(key, value)        schema, model, model_fingerprint, embed_dim, root, updated_at,
 *                           generation (bumped by every committed change), hnsw_file (the
 *                           generation, size and sampled digest of FILE.usearch),
 *                           ann_threshold (when indexing set one: readers default to it)
 *   images(id, path, size, mtime_ms, hash, width, height, embedding, thumbnail)
 *                           path is relative to root with '/' separators and UNIQUE, so a row can
 *                           only be replaced, never duplicated; embedding is embed_dim float32 LE
 *   skipped(path, size, mtime_ms, reason)
 *
 * WAL journal: a reader (the server) keeps searching while `koclip index` commits batches, and a
 * killed writer leaves the last committed batch intact.
 */
import { existsSync } from "node:fs";
import { openSqlite, type Database } from "./sqlite.js";

export const SCHEMA_VERSION = "1";

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  path TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  hash TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  embedding BLOB NOT NULL,
  thumbnail BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS skipped (
  path TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  reason TEXT NOT NULL
);`;

/** Keys of the meta table. */
export type MetaKey = "schema" | "model" | "model_fingerprint" | "embed_dim" | "root" | "updated_at" | "generation" | "hnsw_file" | "ann_threshold";

/**
 * Opens an index file. Writable opens create the file and tables; read-only opens require an
 * existing index and fail with a message that says how to make one.
 */
export function openIndexDb(file: string, readonly: boolean): Database {
  if (readonly && !existsSync(file)) throw new Error(`${file}: no such index (create it with: koclip index DIR --db ${file})`);
  // SQLite's messages ("disk I/O error", "file is not a database") do not say which file.
  const named = (err: unknown) => new Error(`${file}: cannot use as an index (${err instanceof Error ? err.message : String(err)})`);
  let db: Database;
  try {
    db = openSqlite(file, { readonly });
  } catch (err) {
    throw named(err);
  }
  try {
    if (!readonly) {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL"); // WAL + NORMAL: a crash loses at most the last commits, never consistency
      db.exec(DDL);
      const schema = getMeta(db, "schema");
      if (schema === undefined) setMeta(db, "schema", SCHEMA_VERSION);
      else if (schema !== SCHEMA_VERSION) throw new Error(`${file}: index schema ${schema}, this koclip reads ${SCHEMA_VERSION}; delete it and re-index`);
    } else {
      const hasMeta = db.prepare<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
      if (!hasMeta || hasMeta.n === 0) throw new Error(`${file}: not a koclip index`);
    }
  } catch (err) {
    db.close();
    throw err instanceof Error && err.message.startsWith(file) ? err : named(err);
  }
  return db;
}

export function getMeta(db: Database, key: MetaKey): string | undefined {
  return db.prepare<{ value: string }>("SELECT value FROM meta WHERE key = ?").get(key)?.value;
}

export function setMeta(db: Database, key: MetaKey, value: string | number): void {
  db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, String(value));
}

/** Marks a change: bumps `generation` (what the ANN file is checked against) and `updated_at`. Call inside the changing transaction. */
export function bumpGeneration(db: Database): number {
  const next = Number(getMeta(db, "generation") ?? "0") + 1;
  setMeta(db, "generation", next);
  setMeta(db, "updated_at", new Date().toISOString());
  return next;
}

/** An embedding BLOB as a fresh (aligned) Float32Array. */
export function blobToVector(blob: Buffer): Float32Array {
  const out = new Float32Array(blob.length / 4);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

/** A Float32Array as a BLOB (copied, so later writes to the array cannot change it). */
export function vectorToBlob(v: Float32Array): Buffer {
  return Buffer.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}
