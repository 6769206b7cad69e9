/**
 * The writing side of an index file, used only by `indexFolder`. Every method that changes
 * rows is one SQLite transaction that also bumps `generation`, so a killed process leaves
 * either all of a batch or none of it.
 */
import { bumpGeneration, getMeta, openIndexDb, setMeta, vectorToBlob } from "./schema.js";
import type { Database } from "./sqlite.js";

/** What the index knows about a file already. */
export interface KnownFile {
  id: number;
  size: number;
  mtimeMs: number;
  hash: string;
}

/** One finished file of a batch. */
export type BatchResult =
  | { kind: "embedded"; rel: string; size: number; mtimeMs: number; hash: string; width: number; height: number; embedding: Float32Array; thumbnail: Buffer }
  /** Content unchanged (same hash) though size or mtime moved: only those are updated. */
  | { kind: "touched"; rel: string; size: number; mtimeMs: number }
  | { kind: "skipped"; rel: string; size: number; mtimeMs: number; reason: string };

export class IndexWriter {
  private constructor(private readonly db: Database) {}

  static open(file: string): IndexWriter {
    return new IndexWriter(openIndexDb(file, false));
  }

  /** Recorded model, fingerprint, width and root (undefined when the index is new). */
  recorded(): { model?: string; fingerprint?: string; embedDim?: number; root?: string; images: number } {
    const dim = getMeta(this.db, "embed_dim");
    return {
      model: getMeta(this.db, "model"),
      fingerprint: getMeta(this.db, "model_fingerprint"),
      embedDim: dim === undefined ? undefined : Number(dim),
      root: getMeta(this.db, "root"),
      images: this.db.prepare<{ n: number }>("SELECT count(*) AS n FROM images").get()!.n,
    };
  }

  /**
   * Records the model and root. When the model differs from the recorded one, every row goes
   * in the same transaction: embeddings from two models must never be searched together.
   * Returns how many images were dropped.
   */
  setModel(model: string, fingerprint: string, embedDim: number, root: string): number {
    return this.db.transaction(() => {
      const old = this.recorded();
      let dropped = 0;
      if (old.fingerprint !== undefined && (old.fingerprint !== fingerprint || old.embedDim !== embedDim)) {
        dropped = this.db.prepare("DELETE FROM images").run().changes;
        this.db.prepare("DELETE FROM skipped").run();
      }
      setMeta(this.db, "model", model);
      setMeta(this.db, "model_fingerprint", fingerprint);
      setMeta(this.db, "embed_dim", embedDim);
      setMeta(this.db, "root", root);
      bumpGeneration(this.db);
      return dropped;
    })();
  }

  /** Records the HNSW threshold readers of this index default to. */
  setAnnThreshold(n: number): void {
    setMeta(this.db, "ann_threshold", n);
  }

  /** Indexed files by relative path. */
  known(): Map<string, KnownFile> {
    const rows = this.db.prepare<{ id: number; path: string; size: number; mtime_ms: number; hash: string }>("SELECT id, path, size, mtime_ms, hash FROM images").all();
    return new Map(rows.map((r) => [r.path, { id: r.id, size: r.size, mtimeMs: r.mtime_ms, hash: r.hash }]));
  }

  /** Drops images and skip records whose files are gone; returns how many images went. */
  removeMissing(present: Set<string>): number {
    return this.db.transaction(() => {
      const gone = this.db.prepare<{ path: string }>("SELECT path FROM images").all().filter((r) => !present.has(r.path));
      const del = this.db.prepare("DELETE FROM images WHERE path = ?");
      for (const r of gone) del.run(r.path);
      const delSkip = this.db.prepare("DELETE FROM skipped WHERE path = ?");
      for (const r of this.db.prepare<{ path: string }>("SELECT path FROM skipped").all()) if (!present.has(r.path)) delSkip.run(r.path);
      if (gone.length) bumpGeneration(this.db);
      return gone.length;
    })();
  }

  /** Commits one batch. An UPSERT on the unique path keeps an updated image's id. */
  commit(batch: BatchResult[]): void {
    const upsert = this.db.prepare(
      `INSERT INTO images (path, size, mtime_ms, hash, width, height, embedding, thumbnail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, hash = excluded.hash,
         width = excluded.width, height = excluded.height, embedding = excluded.embedding, thumbnail = excluded.thumbnail`,
    );
    const touch = this.db.prepare("UPDATE images SET size = ?, mtime_ms = ? WHERE path = ?");
    const delImage = this.db.prepare("DELETE FROM images WHERE path = ?");
    const delSkip = this.db.prepare("DELETE FROM skipped WHERE path = ?");
    const skip = this.db.prepare("INSERT OR REPLACE INTO skipped (path, size, mtime_ms, reason) VALUES (?, ?, ?, ?)");
    this.db.transaction(() => {
      for (const r of batch) {
        if (r.kind === "embedded") {
          upsert.run(r.rel, r.size, r.mtimeMs, r.hash, r.width, r.height, vectorToBlob(r.embedding), r.thumbnail);
          delSkip.run(r.rel);
        } else if (r.kind === "touched") {
          touch.run(r.size, r.mtimeMs, r.rel);
        } else {
          // An image that became unreadable leaves the index.
          delImage.run(r.rel);
          skip.run(r.rel, r.size, r.mtimeMs, r.reason);
        }
      }
      bumpGeneration(this.db);
    })();
  }

  close(): void {
    this.db.close();
  }
}
