/**
 * POST /api/search — text → images (JSON `{ text, k }`) or image → images (multipart `image`
 * file, optional `k`). The query is embedded through the model queue, where concurrent text
 * queries share one forward pass; the nearest-neighbour lookup itself runs outside the queue.
 * (collection/query.ts's searchByText does embed-then-search in one call, which cannot be batched
 * across requests, so the route does the two steps itself.)
 */
import type { FastifyInstance } from "fastify";
import { relative, isAbsolute } from "node:path";
import type { SearchHit } from "../../collection/collection.js";
import { elapsedMs, requireCollection, type ServerContext } from "../context.js";
import { HttpError } from "../errors.js";
import * as S from "../schemas.js";
import type { SearchHitView, SearchResponse, SearchTextRequest } from "../types.js";
import { uploadedImages } from "../uploads.js";

export const DEFAULT_K = 12;

/** A hit as the API shows it: the path relative to the indexed root when inside it, and its URLs. */
export function hitView(hit: SearchHit, root: string | null): SearchHitView {
  let path = hit.path;
  if (root && isAbsolute(path)) {
    const rel = relative(root, path);
    if (!rel.startsWith("..") && !isAbsolute(rel)) path = rel;
  }
  return { id: hit.id, path, score: hit.score, thumbnailUrl: `/api/images/${hit.id}`, fullUrl: `/api/images/${hit.id}?full=1` };
}

export function searchRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const schema = {
    body: S.bodyByType({
      json: S.object({ text: S.text(ctx.limits), k: S.k(ctx.limits) }, ["text"]),
      multipart: S.object({ image: S.file, k: S.k(ctx.limits) }, ["image"]),
    }),
  };
  app.post("/api/search", { schema, config: { uploads: { image: 1 } } }, async (request): Promise<SearchResponse> => {
    const t0 = performance.now();
    const collection = requireCollection(ctx);
    let vector: Float32Array;
    let query: SearchResponse["query"];
    let k: number;
    if (request.isMultipart()) {
      const [image] = await uploadedImages(request, "image", ctx.limits, 1);
      k = (request.body as { k?: number }).k ?? DEFAULT_K;
      vector = await ctx.queue.run(async () => (await ctx.model.encodeImages([image!.data]))[0]!);
      query = { kind: "image", filename: image!.filename };
    } else {
      const body = request.body as SearchTextRequest | undefined;
      if (typeof body !== "object" || body === null || typeof body.text !== "string") {
        throw new HttpError(400, "invalid_request", "send JSON {\"text\": \"...\", \"k\": 12} or a multipart image upload");
      }
      k = body.k ?? DEFAULT_K;
      vector = await ctx.queue.batch("text", body.text, (texts) => ctx.model.encodeTexts(texts, { batchSize: ctx.limits.maxBatch }));
      query = { kind: "text", text: body.text };
    }
    const root = collection.status().root;
    const hits = collection.search(vector, k).map((h) => hitView(h, root));
    return { query, k, hits, tookMs: elapsedMs(t0) };
  });
}
