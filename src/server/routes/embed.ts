/**
 * POST /api/embed — L2-normalised embeddings: JSON `{ texts }`, or multipart with `texts` fields
 * and/or `images` files; at most limits.maxBatch inputs in all, run as one model job.
 */
import type { FastifyInstance } from "fastify";
import { elapsedMs, type ServerContext } from "../context.js";
import { HttpError, limitError } from "../errors.js";
import * as S from "../schemas.js";
import type { EmbedResponse } from "../types.js";
import { uploadedImages } from "../uploads.js";

export function embedRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const texts = { type: "array", maxItems: ctx.limits.maxBatch, items: S.text(ctx.limits) } as const;
  const schema = {
    body: S.bodyByType({
      json: S.object({ texts: { ...texts, minItems: 1 } }, ["texts"]),
      multipart: S.object({ texts, images: S.file }),
    }),
  };
  app.post("/api/embed", { schema, config: { uploads: { images: ctx.limits.maxBatch } } }, async (request): Promise<EmbedResponse> => {
    const t0 = performance.now();
    const body = request.body as { texts?: string[] } | undefined;
    if (typeof body !== "object" || body === null) throw new HttpError(400, "invalid_request", "send JSON {\"texts\": [...]} or multipart texts/images fields");
    const textList = body.texts ?? [];
    const images = await uploadedImages(request, "images", ctx.limits, 0);
    if (textList.length + images.length === 0) throw new HttpError(400, "invalid_request", "give at least one text or image");
    if (textList.length + images.length > ctx.limits.maxBatch) {
      throw limitError(400, "maxBatch", ctx.limits, `${textList.length} texts + ${images.length} images in one request`);
    }
    const [textRows, imageRows] = await ctx.queue.run(async () => [
      textList.length ? await ctx.model.encodeTexts(textList) : [],
      images.length ? await ctx.model.encodeImages(images.map((i) => i.data)) : [],
    ]);
    return {
      embedDim: ctx.model.embedDim,
      texts: textList.map((text, i) => ({ text, embedding: Array.from(textRows![i]!) })),
      images: images.map((img, i) => ({ filename: img.filename, embedding: Array.from(imageRows![i]!) })),
      tookMs: elapsedMs(t0),
    };
  });
}
