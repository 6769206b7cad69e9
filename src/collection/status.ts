/**
 * What an index reports about itself (Collection.status()). A file of its own, free of node
 * imports, so the web page's type check (web/tsconfig.json) reads the same type the server sends.
 */
export interface CollectionStatus {
  images: number;
  skipped: number;
  /** Absolute folder of the model that made the embeddings. */
  model: string | null;
  embedDim: number | null;
  root: string | null;
  updatedAt: string | null;
  /** Which neighbour search `search` uses at this size. */
  ann: "exact" | "hnsw";
  /** Fingerprint of the model's files (see modelFingerprint). */
  modelFingerprint: string | null;
}
