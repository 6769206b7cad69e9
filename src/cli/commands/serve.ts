/** `koclip serve`: the HTTP API and the web page over one model and (optionally) one image index. */
import { existsSync } from "node:fs";
import { Collection } from "../../collection/collection.js";
import { resolveModelDir } from "../../models/default_model.js";
import { modelMismatch } from "../../collection/query.js";
import { loadModel } from "../../models/load.js";
import { buildServer } from "../../server/app.js";
import { DEFAULT_LIMITS } from "../../server/limits.js";
import type { ServerLimits } from "../../server/types.js";
import { intFlag, MODEL_FLAGS, modelFlagsHelp, parseFlags, type Command } from "../command.js";

const USAGE = `usage: koclip serve [--db FILE] [--model DIR] [--port 3000] [--host 127.0.0.1] [options]

Serves the search/classify API under /api and the web page at /. The model is loaded once and
runs one batch at a time behind a queue; requests beyond --max-queue get 503.

  POST /api/search     {"text": "바닷가의 강아지", "k": 12}, or a multipart 'image' upload
  POST /api/classify   multipart: 'image' file + 'labels' fields (+ optional 'templates')
  POST /api/embed      {"texts": [...]}, or multipart 'texts' fields and 'images' files
  POST /api/patch      multipart: 'image' file + 'text' field (+ optional 'grid')
  GET  /api/images/:id thumbnail; ?full=1 the original (only files inside the indexed folder)
  GET  /api/status     model, index, queue depth and limits

options:
  --db FILE            index built by 'koclip index' (without it, search and images answer 409)
${modelFlagsHelp("model folder or Hugging Face id (default: the model the index was built with, else models/koclip-emoji)", 23)}
  --port N             TCP port (default 3000; 0 picks a free one)
  --host H             address to listen on (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --allow-host NAME    also answer requests for this host name or address (repeatable); by default
                       only loopback names (localhost, 127.0.0.1, ::1) and the --host address are
                       answered, so a web page cannot reach the server through its own domain name
  --max-queue N        model jobs waiting or running before 503 (default ${DEFAULT_LIMITS.maxQueue})
  --max-upload-mb N    size of one uploaded image (default ${DEFAULT_LIMITS.maxUploadBytes / 1024 / 1024})
  --max-pixels N       width x height of one uploaded image (default ${DEFAULT_LIMITS.maxPixels})
  --log                log every request (JSON lines on stdout)`;

export const serveCommand: Command = {
  name: "serve",
  summary: "HTTP API and web page for search, zero-shot labels and heatmaps",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags(argv, {
          db: { type: "string" },
          ...MODEL_FLAGS,
          port: { type: "string" },
          host: { type: "string" },
          "allow-host": { type: "string", multiple: true },
          "max-queue": { type: "string" },
          "max-upload-mb": { type: "string" },
          "max-pixels": { type: "string" },
          log: { type: "boolean" },
        });
    const port = intFlag("port", values.port, 0, 65535) ?? 3000;
    const host = values.host ?? "127.0.0.1";
    const limits: Partial<ServerLimits> = {};
    const maxQueue = intFlag("max-queue", values["max-queue"]);
    if (maxQueue !== undefined) limits.maxQueue = maxQueue;
    const uploadMb = intFlag("max-upload-mb", values["max-upload-mb"]);
    if (uploadMb !== undefined) limits.maxUploadBytes = uploadMb * 1024 * 1024;
    const maxPixels = intFlag("max-pixels", values["max-pixels"]);
    if (maxPixels !== undefined) limits.maxPixels = maxPixels;

    if (values.db !== undefined && !existsSync(values.db)) throw new Error(`${values.db}: no such index file (build one with 'koclip index')`);
    const collection = values.db === undefined ? null : Collection.open(values.db, { readonly: true });
    const status = collection?.status() ?? null;
    const model = await loadModel(resolveModelDir(values.model, [status?.model]), { device: values.device });
    // The address it listens on is a name clients may use; a wildcard address is no name.
    const allowedHosts = [...(values["allow-host"] ?? []), ...(["0.0.0.0", "::"].includes(host) ? [] : [host])];
    const app = await buildServer({ model, collection, limits, allowedHosts, logger: values.log ? true : false });
    const url = await app.listen({ port, host });
    const what = status ? `${status.images} images from ${status.root}` : "no index (pass --db FILE to search images)";
    process.stderr.write(`koclip serve: ${url}  model ${model.dir}, ${what}\n`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        void app.close().then(done, done);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    collection?.close();
    model.dispose();
    return 0;
  },
};
