/** What every route handler gets: the model, the optional collection, the queue and the limits. */
import type { Collection } from "../collection/collection.js";
import type { PretrainedModel } from "../models/pretrained.js";
import { HttpError } from "./errors.js";
import type { ModelQueue } from "./queue.js";
import type { ServerLimits } from "./types.js";

export interface ServerContext {
  model: PretrainedModel;
  /** The indexed image collection; null when serving without --db (search and images answer 409). */
  collection: Collection | null;
  queue: ModelQueue;
  limits: ServerLimits;
  /** Name shown in /api/status (the model folder's base name unless given). */
  modelName: string;
  startedAt: number;
}

/** The collection, or a 409 telling the client the server has none. */
export function requireCollection(ctx: ServerContext): Collection {
  if (!ctx.collection) throw new HttpError(409, "no_collection", "this server has no image collection (start koclip serve with --db FILE)");
  return ctx.collection;
}

/** Milliseconds since `t0` (performance.now()), to one decimal. */
export function elapsedMs(t0: number): number {
  return Math.round((performance.now() - t0) * 10) / 10;
}
