/**
 * The `koclip serve` HTTP server: the JSON API under /api and the web page (web/) at /.
 * It does not own the model or the collection; whoever built them closes them after `app.close()`.
 *
 *   const app = await buildServer({ model, collection, limits: { maxPixels: 4_000_000 } });
 *   const res = await app.inject({ method: "POST", url: "/api/search", payload: { text: "고양이" } });
 *   res.json().hits[0]   // { id: 3, path: "cat.png", score: 0.31, thumbnailUrl: "/api/images/3", ... }
 *   await app.listen({ port: 3000, host: "127.0.0.1" });
 */
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { basename, join } from "node:path";
import type { Collection } from "../collection/collection.js";
import { modelMismatch } from "../collection/query.js";
import { PACKAGE_ROOT } from "../models/default_model.js";
import { modelLabel } from "../models/hub.js";
import type { PretrainedModel } from "../models/pretrained.js";
import type { ServerContext } from "./context.js";
import { installErrorHandlers, sendApiError } from "./errors.js";
import { installHostPolicy } from "./host_policy.js";
import { resolveLimits } from "./limits.js";
import { ModelQueue } from "./queue.js";
import { classifyRoutes } from "./routes/classify.js";
import { embedRoutes } from "./routes/embed.js";
import { imageRoutes } from "./routes/images.js";
import { patchRoutes } from "./routes/patch.js";
import { searchRoutes } from "./routes/search.js";
import { statusRoutes } from "./routes/status.js";
import type { ServerLimits } from "./types.js";
import { registerUploads } from "./uploads.js";

export interface ServerOptions {
  model: PretrainedModel;
  /** The indexed collection to search; null or absent serves everything but search and images. */
  collection?: Collection | null;
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<ServerLimits>;
  /** Shown in /api/status; default the model folder's name. */
  modelName?: string;
  /** Folder of the web page; default the package's web/. false serves no page. */
  webRoot?: string | false;
  /** Host names served besides loopback ones (see host_policy.ts); default none. */
  allowedHosts?: string[];
  /** Fastify's logger option (default: off). */
  logger?: FastifyServerOptions["logger"];
}

/**
 * Builds the fastify instance with every route registered (not yet listening). Throws when the
 * collection was indexed with another model: its vectors would not be comparable to queries.
 */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const limits = resolveLimits(opts.limits);
  const mismatch = opts.collection ? modelMismatch(opts.collection, opts.model) : null;
  if (mismatch) throw new Error(mismatch);
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: limits.maxJsonBytes,
    // Unknown fields are errors rather than silently dropped, and types are not coerced (5 is no
    // text, true no k); uploads.ts types multipart's text fields from the route's schema instead.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Malformed URLs (bad percent-encoding) get our error shape, not fastify's.
    frameworkErrors: (err, _request, reply) => sendApiError(err, reply, limits),
  });
  // A JSON body sent as text/plain is refused as the wrong media type (415), not parsed as text.
  app.removeContentTypeParser("text/plain");
  const ctx: ServerContext = {
    model: opts.model,
    collection: opts.collection ?? null,
    queue: new ModelQueue({ limit: limits.maxQueue, maxBatch: limits.maxBatch }),
    limits,
    modelName: opts.modelName ?? modelLabel(opts.model.dir),
    startedAt: Date.now(),
  };
  installHostPolicy(app, { allowedHosts: (opts.allowedHosts ?? []).map((h) => h.toLowerCase()) });
  installErrorHandlers(app, limits);
  await registerUploads(app, limits);
  for (const routes of [searchRoutes, classifyRoutes, embedRoutes, patchRoutes, imageRoutes, statusRoutes]) routes(app, ctx);
  const webRoot = opts.webRoot ?? join(PACKAGE_ROOT, "web");
  if (webRoot !== false) {
    // The page is a few small files; no caching, so an updated page shows on reload.
    await app.register(fastifyStatic, { root: webRoot, prefix: "/", index: "index.html", cacheControl: false, etag: true });
  }
  return app;
}
