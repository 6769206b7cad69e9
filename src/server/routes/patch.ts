/**
 * POST /api/patch — where in an image a text matches: multipart `image` file, `text` field,
 * optional `grid` (cells per side). Answers the heatmap grid and the image's size so the page
 * can lay it over the picture.
 */
import type { FastifyInstance } from "fastify";
import { patchHeatmap } from "../../tasks/patch.js";
import { elapsedMs, type ServerContext } from "../context.js";
import { HttpError } from "../errors.js";
import * as S from "../schemas.js";
import type { PatchFields, PatchResponse } from "../types.js";
import { uploadedImages } from "../uploads.js";

/** Bounds the work one request can ask for; 16×16 is plenty for an overlay. */
export const MAX_GRID = 16;
export const DEFAULT_GRID = 4;

export function patchRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const schema = {
    body: S.bodyByType({
      multipart: S.object({ image: S.file, text: S.text(ctx.limits), grid: { type: "integer", minimum: 1, maximum: MAX_GRID } }, ["image", "text"]),
    }),
  };
  app.post("/api/patch", { schema, config: { uploads: { image: 1 } } }, async (request): Promise<PatchResponse> => {
    const t0 = performance.now();
    const [image] = await uploadedImages(request, "image", ctx.limits, 1);
    const fields = request.body as PatchFields;
    const grid = fields.grid ?? DEFAULT_GRID;
    if (image!.width < grid || image!.height < grid) {
      throw new HttpError(400, "image_too_small", `a ${image!.width}x${image!.height} image cannot be cut into ${grid}x${grid} tiles`);
    }
    const map = await ctx.queue.run(() => patchHeatmap(ctx.model, image!.data, fields.text, { grid, maxPixels: ctx.limits.maxPixels }));
    return { text: fields.text, rows: map.rows, cols: map.cols, scores: map.scores, width: map.width, height: map.height, tookMs: elapsedMs(t0) };
  });
}
