/**
 * Request and response shapes of `koclip serve`'s HTTP API, shared by the routes and the web page
 * (web/main.js imports them in JSDoc, so `npx tsc -p web` checks the page against them).
 * Type-only: nothing here exists at run time.
 *
 *   const res = await fetch("/api/search", { method: "POST", body: JSON.stringify({ text: "고양이", k: 8 }) });
 *   const { hits } = (await res.json()) as SearchResponse;   // hits[0].thumbnailUrl === "/api/images/17"
 */
import type { CollectionStatus } from "../collection/status.js";

/** Every limit the server enforces; a request over one gets a 4xx whose `limit` names it. */
export interface ServerLimits {
  /** Bytes per uploaded image (413 over it). */
  maxUploadBytes: number;
  /** Width × height of an uploaded image, read from its header before decoding (413 over it). */
  maxPixels: number;
  /** Texts plus images in one /api/embed request (400 over it). */
  maxBatch: number;
  /** Characters in one text, label or template (400 over it). */
  maxTextLength: number;
  /** Labels in one /api/classify request. */
  maxLabels: number;
  /** Largest `k` for /api/search. */
  maxK: number;
  /** Model jobs waiting or running; a request beyond it gets 503 at once. */
  maxQueue: number;
  /** Bytes of a JSON request body. */
  maxJsonBytes: number;
}

export type LimitName = keyof ServerLimits;

/** The body of every 4xx/5xx answer. `limit` is set when a limit was exceeded. */
export interface ApiError {
  error: string;
  message: string;
  limit?: { name: LimitName; value: number };
}

/** POST /api/search as JSON. Images are searched by uploading `image` as multipart/form-data (with an optional `k` field). */
export interface SearchTextRequest {
  text: string;
  /** Hits to return (default 12, at most limits.maxK). */
  k?: number;
}

export interface SearchHitView {
  id: number;
  path: string;
  /** Cosine similarity to the query. */
  score: number;
  /** `/api/images/:id`, a small JPEG/PNG/WebP preview. */
  thumbnailUrl: string;
  /** `/api/images/:id?full=1`, the original file. */
  fullUrl: string;
}

export interface SearchResponse {
  query: { kind: "text"; text: string } | { kind: "image"; filename: string | null };
  k: number;
  hits: SearchHitView[];
  /** Milliseconds from request to answer, queue wait included. */
  tookMs: number;
}

/** POST /api/classify is multipart: an `image` file, `labels` fields (repeated) and optional `templates` fields. */
export interface ClassifyFields {
  labels: string[];
  /** Prompt templates containing `{}`; default: the Korean ensemble. */
  templates?: string[];
}

export interface LabelScore {
  label: string;
  /** Cosine similarity of the image to the label's template-ensemble embedding. */
  score: number;
  /** softmax over the labels at the model's temperature. */
  probability: number;
}

export interface ClassifyResponse {
  /** Best first. */
  labels: LabelScore[];
  templates: string[];
  tookMs: number;
}

/** POST /api/embed as JSON (texts only), or multipart with `texts` fields and `images` files. */
export interface EmbedTextRequest {
  texts: string[];
}

export interface EmbedResponse {
  embedDim: number;
  /** One per text, in order; L2-normalised. */
  texts: { text: string; embedding: number[] }[];
  /** One per uploaded image, in order; L2-normalised. */
  images: { filename: string | null; embedding: number[] }[];
  tookMs: number;
}

/** POST /api/patch is multipart: an `image` file, a `text` field and an optional `grid` field. */
export interface PatchFields {
  text: string;
  /** Tiles per side (default 4, at most 16); each tile is embedded as an image of its own. */
  grid?: number;
}

export interface PatchResponse {
  text: string;
  rows: number;
  cols: number;
  /** scores[row][col]: similarity of the text to that region of the image. */
  scores: number[][];
  /** Size of the uploaded image, so the page can lay the grid over it. */
  width: number;
  height: number;
  tookMs: number;
}

export interface StatusResponse {
  model: { name: string; dir: string; embedDim: number; maxTextLength: number };
  /** null when the server was started without --db. root, model and dbFile are names, not server paths. */
  collection: (CollectionStatus & { dbFile: string }) | null;
  /** depth: jobs waiting or running; served/rejected since start; passes: model calls (merged batches count once). */
  queue: { depth: number; running: boolean; limit: number; served: number; rejected: number; passes: number };
  limits: ServerLimits;
  /** Korean labels the page starts with. */
  defaultLabels: string[];
  uptimeS: number;
}
