/**
 * GET /api/images/:id — the thumbnail the index stored; `?full=1` the original file, served only
 * when its real path (symlinks resolved) lies inside the collection's indexed root.
 */
import type { FastifyInstance } from "fastify";
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { extname, isAbsolute, relative, resolve } from "node:path";
import { requireCollection, type ServerContext } from "../context.js";
import { HttpError } from "../errors.js";

const TYPES: Record<string, string> = {
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".webp": "image/webp",
  ".gif": "image/gif",
  ".avif": "image/avif",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  ".bmp": "image/bmp",
};

/** The content type of encoded image bytes, from their magic number. */
export function sniffImageType(b: Buffer): string {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return "image/png";
  if (b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") return "image/webp";
  if (b.length >= 4 && b.toString("latin1", 0, 4) === "GIF8") return "image/gif";
  return "application/octet-stream";
}

/** True when `child` is `root` or below it (both already real paths). */
function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

export function imageRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const schema = {
    // A digit string, not a coerced integer: the server's schemas coerce no types.
    params: { type: "object", properties: { id: { type: "string", pattern: "^[0-9]{1,15}$" } }, required: ["id"] },
    querystring: { type: "object", additionalProperties: false, properties: { full: { type: "string", enum: ["0", "1"] } } },
  };
  app.get("/api/images/:id", { schema }, async (request, reply) => {
    const collection = requireCollection(ctx);
    const id = Number((request.params as { id: string }).id);
    const { full } = request.query as { full?: "0" | "1" };
    const record = collection.get(id);
    if (!record) throw new HttpError(404, "unknown_image", `no image with id ${id} in the collection`);
    if (full !== "1") {
      const thumb = collection.thumbnail(id);
      if (!thumb) throw new HttpError(404, "no_thumbnail", `image ${id} has no thumbnail`);
      return reply.type(sniffImageType(thumb)).header("cache-control", "public, max-age=3600").send(thumb);
    }
    const root = collection.status().root;
    if (!root) throw new HttpError(403, "outside_root", "the collection records no indexed root, so no original files are served");
    const forbidden = new HttpError(403, "outside_root", `image ${id} is not inside the indexed folder; only files there are served`);
    let realRoot: string, realFile: string;
    try {
      realRoot = await realpath(root);
      realFile = await realpath(resolve(root, record.path));
    } catch {
      throw new HttpError(404, "file_missing", `the original file of image ${id} is no longer on disk`);
    }
    if (!isInside(realRoot, realFile)) throw forbidden;
    const info = await stat(realFile);
    if (!info.isFile()) throw forbidden;
    return reply
      .type(TYPES[extname(realFile).toLowerCase()] ?? "application/octet-stream")
      .header("content-length", info.size)
      .header("x-content-type-options", "nosniff")
      .send(createReadStream(realFile));
  });
}
