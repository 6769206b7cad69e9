/**
 * A searchable image collection: one SQLite file written by `indexFolder`, read here.
 *
 *   const c = Collection.open("photos.db", { readonly: true });
 *   c.status()                 // { images: 1234, skipped: 2, model: "/.../koclip-emoji", ann: "exact", ... }
 *   c.search(queryVector, 5)   // [{ id: 17, path: "/photos/beach.jpg", score: 0.31 }, ...]
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, openSync, readSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ExactIndex, HNSW_FORMAT, HnswIndex, type NeighbourIndex, type VectorSet } from "./ann.js";
import { blobToVector, getMeta, openIndexDb, setMeta } from "./schema.js";
import type { Database } from "./sqlite.js";
import type { CollectionStatus } from "./status.js";

export type { CollectionStatus } from "./status.js";

export interface IndexedImage {
  id: number;
  /** Absolute path (the index root joined with the stored relative path). */
  path: string;
  width: number;
  height: number;
  /** Bytes. */
  size: number;
  mtimeMs: number;
  /** sha256 of the file, hex. */
  hash: string;
  /** Path relative to the index root, '/' separators (what the database stores). */
  relPath: string;
}

/** One result: cosine similarity, best first. */
export interface SearchHit {
  id: number;
  path: string;
  score: number;
}


export interface CollectionOptions {
  /** Never write: no tables created, the HNSW file is used if current, else rebuilt in memory only. */
  readonly?: boolean;
  /** Rows from which HNSW replaces exact search (default: what indexing recorded, else 20,000). */
  annThreshold?: number;
}

/** Default for `annThreshold`. */
export const DEFAULT_ANN_THRESHOLD = 20_000;

/** Size plus sha256 of the first and last 64 KiB of a file; null when it does not exist. */
function fileSignature(file: string): string | null {
  if (!existsSync(file)) return null;
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const h = createHash("sha256").update(String(size));
    const buf = Buffer.alloc(65536);
    for (const pos of [0, Math.max(0, size - buf.length)]) h.update(buf.subarray(0, readSync(fd, buf, 0, buf.length, pos)));
    return `${size}:${h.digest("hex").slice(0, 32)}`;
  } finally {
    closeSync(fd);
  }
}

interface ImageRow {
  id: number;
  path: string;
  width: number;
  height: number;
  size: number;
  mtime_ms: number;
  hash: string;
}

export class Collection {
  private neighbours: NeighbourIndex | null = null;
  /** The `generation` the neighbour index was built for; a newer one means reload. */
  private neighboursGeneration: string | undefined;
  private readonly annThreshold: number;

  private constructor(
    readonly dbFile: string,
    private readonly db: Database,
    private readonly readonly: boolean,
    annThreshold: number,
  ) {
    this.annThreshold = annThreshold;
  }

  /** Opens an index; read-only opens need an existing file. */
  static open(dbFile: string, opts: CollectionOptions = {}): Collection {
    const readonly = opts.readonly ?? false;
    if (opts.annThreshold !== undefined && !(opts.annThreshold >= 0)) throw new RangeError(`annThreshold must be >= 0, got ${opts.annThreshold}`);
    const db = openIndexDb(dbFile, readonly);
    const recorded = getMeta(db, "ann_threshold");
    const threshold = opts.annThreshold ?? (recorded === undefined ? DEFAULT_ANN_THRESHOLD : Number(recorded));
    return new Collection(dbFile, db, readonly, threshold);
  }

  /** `FILE.usearch`: where the HNSW graph of `FILE` is kept. */
  get hnswFile(): string {
    return `${this.dbFile}.usearch`;
  }

  status(): CollectionStatus {
    const images = this.count("images");
    const dim = getMeta(this.db, "embed_dim");
    return {
      images,
      skipped: this.count("skipped"),
      model: getMeta(this.db, "model") ?? null,
      embedDim: dim === undefined ? null : Number(dim),
      root: getMeta(this.db, "root") ?? null,
      updatedAt: getMeta(this.db, "updated_at") ?? null,
      ann: images >= this.annThreshold ? "hnsw" : "exact",
      modelFingerprint: getMeta(this.db, "model_fingerprint") ?? null,
    };
  }

  /**
   * The k images nearest to an L2-normalised vector, by cosine, best first. Picks up changes
   * committed since the last call (e.g. by an indexer running alongside a server).
   */
  search(vector: Float32Array, k: number): SearchHit[] {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
    const index = this.ensureNeighbours();
    if (index.size === 0 || k === 0) return [];
    const hits = index.search(vector, k);
    const root = getMeta(this.db, "root") ?? "";
    const pathOf = this.db.prepare<{ path: string }>("SELECT path FROM images WHERE id = ?");
    const out: SearchHit[] = [];
    for (const h of hits) {
      const row = pathOf.get(h.id);
      if (row) out.push({ id: h.id, path: join(root, row.path), score: h.score });
    }
    return out;
  }

  get(id: number): IndexedImage | undefined {
    const row = this.db.prepare<ImageRow>("SELECT id, path, width, height, size, mtime_ms, hash FROM images WHERE id = ?").get(id);
    return row && this.toImage(row);
  }

  /** Every indexed image, by id. */
  list(): IndexedImage[] {
    return this.db.prepare<ImageRow>("SELECT id, path, width, height, size, mtime_ms, hash FROM images ORDER BY id").all().map((r) => this.toImage(r));
  }

  /** The stored embedding of an image (L2-normalised). */
  embedding(id: number): Float32Array | undefined {
    const row = this.db.prepare<{ embedding: Buffer }>("SELECT embedding FROM images WHERE id = ?").get(id);
    return row && blobToVector(row.embedding);
  }

  /** The JPEG thumbnail made at index time (longest side <= 256 px). */
  thumbnail(id: number): Buffer | undefined {
    return this.db.prepare<{ thumbnail: Buffer }>("SELECT thumbnail FROM images WHERE id = ?").get(id)?.thumbnail;
  }

  /** Files that could not be indexed, with why (absolute paths). */
  skipped(): { path: string; reason: string }[] {
    const root = getMeta(this.db, "root") ?? "";
    return this.db.prepare<{ path: string; reason: string }>("SELECT path, reason FROM skipped ORDER BY path").all().map((r) => ({ path: join(root, r.path), reason: r.reason }));
  }

  /**
   * Makes the neighbour index current and returns it. Exact below `annThreshold` rows;
   * otherwise the HNSW file, if it was built for the database's current `generation`, else
   * a rebuild (saved and recorded unless read-only).
   */
  ensureNeighbours(): NeighbourIndex {
    const now = this.snapshot(false);
    if (this.neighbours && this.neighboursGeneration === now.generation) return this.neighbours;
    if (now.images < this.annThreshold || now.dim === 0) {
      const { set, generation } = this.snapshot(true);
      this.neighbours = new ExactIndex(set!);
      this.neighboursGeneration = generation;
      return this.neighbours;
    }
    const file = this.hnswFile;
    // usearch crashes the process (SIGSEGV) on a file that is not a valid index, so a file is
    // loaded only when its size and sampled digest are the ones recorded when it was saved.
    if (now.hnswFile?.generation === now.generation && now.hnswFile.format === HNSW_FORMAT && fileSignature(file) === now.hnswFile.signature) {
      try {
        const loaded = HnswIndex.load(file, now.dim);
        if (loaded.size === now.images) {
          this.neighbours = loaded;
          this.neighboursGeneration = now.generation;
          return loaded;
        }
      } catch {
        // unreadable or foreign file: rebuild below
      }
    }
    const { set, generation } = this.snapshot(true);
    const built = HnswIndex.build(set!);
    if (!this.readonly) {
      // Write aside and rename, then record the generation the graph was built from: a crash
      // in between leaves a file whose generation is not recorded, which reads as stale and
      // is rebuilt next time, never trusted.
      const tmp = `${file}.tmp-${process.pid}`;
      try {
        built.save(tmp);
        renameSync(tmp, file);
        setMeta(this.db, "hnsw_file", JSON.stringify({ generation, signature: fileSignature(file), format: HNSW_FORMAT }));
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    this.neighbours = built;
    this.neighboursGeneration = generation;
    return built;
  }

  /** Generation, counts and (optionally) all vectors, read in one transaction so they agree with each other. */
  private snapshot(withVectors: boolean): { generation: string; images: number; dim: number; hnswFile: { generation: string; signature: string; format?: string } | undefined; set?: VectorSet } {
    return this.db.transaction(() => {
      const generation = getMeta(this.db, "generation") ?? "0";
      const images = this.count("images");
      const dim = Number(getMeta(this.db, "embed_dim") ?? "0");
      const recorded = getMeta(this.db, "hnsw_file");
      const hnswFile = recorded === undefined ? undefined : (JSON.parse(recorded) as { generation: string; signature: string; format?: string });
      return { generation, images, dim, hnswFile, set: withVectors ? this.vectors(images, dim) : undefined };
    })();
  }

  private vectors(n: number, dim: number): VectorSet {
    const ids: number[] = [];
    const matrix = new Float32Array(n * dim);
    const bytes = new Uint8Array(matrix.buffer);
    for (const row of this.db.prepare<{ id: number; embedding: Buffer }>("SELECT id, embedding FROM images ORDER BY id").iterate()) {
      if (row.embedding.length !== dim * 4) throw new Error(`${this.dbFile}: image ${row.id} has a ${row.embedding.length / 4}-float embedding, index says ${dim}`);
      bytes.set(row.embedding, ids.length * dim * 4);
      ids.push(row.id);
    }
    return { ids, matrix, dim };
  }

  private count(table: "images" | "skipped"): number {
    return this.db.prepare<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
  }

  private toImage(r: ImageRow): IndexedImage {
    const root = getMeta(this.db, "root") ?? "";
    return { id: r.id, path: join(root, r.path), width: r.width, height: r.height, size: r.size, mtimeMs: r.mtime_ms, hash: r.hash, relPath: r.path };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
  /** `using c = Collection.open(db)` closes the database when the scope ends. */
  [Symbol.dispose](): void {
    this.close();
  }

}
