/** GET /api/status — the model, the collection's status, the queue and the limits. */
import { basename } from "node:path";
import type { FastifyInstance } from "fastify";
import type { ServerContext } from "../context.js";
import type { StatusResponse } from "../types.js";

/** Labels the page starts with (editable there). */
export const DEFAULT_LABELS = ["고양이", "강아지", "자동차", "꽃", "음식", "하트"];

export function statusRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get("/api/status", async (): Promise<StatusResponse> => {
    const c = ctx.collection;
    return {
      model: { name: ctx.modelName, dir: basename(ctx.model.dir), embedDim: ctx.model.embedDim, maxTextLength: ctx.model.maxTextLength },
      // Folder and file names only: absolute server paths are nobody's business but the operator's.
      collection: c ? (({ root, model, ...rest }) => ({ ...rest, root: root === null ? null : basename(root), model: model === null ? null : basename(model), dbFile: basename(c.dbFile) }))(c.status()) : null,
      queue: ctx.queue.stats(),
      limits: ctx.limits,
      defaultLabels: DEFAULT_LABELS,
      uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
    };
  });
}
