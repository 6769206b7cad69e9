/**
 * POST /api/classify — zero-shot labels for one uploaded image: multipart `image` file, `labels`
 * fields (repeated), optional `templates` fields (each containing `{}`; default the Korean
 * ensemble). Probabilities are CLIP's softmax over the labels at the model's temperature.
 */
import type { FastifyInstance } from "fastify";
import { classifyImages, KOREAN_TEMPLATES } from "../../tasks/zero_shot.js";
import { elapsedMs, type ServerContext } from "../context.js";
import * as S from "../schemas.js";
import type { ClassifyFields, ClassifyResponse } from "../types.js";
import { uploadedImages } from "../uploads.js";

export function classifyRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const schema = {
    body: S.bodyByType({
      multipart: S.object({ image: S.file, labels: S.labels(ctx.limits), templates: S.templates(ctx.limits) }, ["image", "labels"]),
    }),
  };
  app.post("/api/classify", { schema, config: { uploads: { image: 1 } } }, async (request): Promise<ClassifyResponse> => {
    const t0 = performance.now();
    const [image] = await uploadedImages(request, "image", ctx.limits, 1);
    const fields = request.body as ClassifyFields;
    const templates = fields.templates ?? [...KOREAN_TEMPLATES];
    const [predictions] = await ctx.queue.run(() => classifyImages(ctx.model, [image!.data], fields.labels, templates));
    return { labels: predictions!, templates, tookMs: elapsedMs(t0) };
  });
}
