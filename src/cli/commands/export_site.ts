/** `koclip export site`: an index as a static web page that searches it in the browser, no server. */
import { SITE_VECTOR_TYPES, exportSite, type SiteVectorType } from "../../export/site/export.js";
import { Collection } from "../../collection/collection.js";
import { resolveModelDir } from "../../models/default_model.js";
import { loadModel } from "../../models/load.js";
import { parseFlags, UsageError, type Command } from "../command.js";

const USAGE = `usage: koclip export site --db FILE --out DIR [--vectors float16|int8] [--model DIR]

Writes a folder any static host can serve (a file server, object storage, GitHub Pages):
index.html, the thumbnails, the image vectors, the model's ONNX text tower and tokenizer,
and the tokenizers.js and onnxruntime-web (wasm) files from their npm packages. The page
tokenises, embeds and ranks Korean queries inside the browser; clicking an image finds
similar ones from the stored vectors. Nothing is sent anywhere.

options:
  --db FILE        index file written by koclip index (required)
  --out DIR        output folder (required; new, empty, or a previous export to replace)
  --vectors T      float16 (default; 2 bytes a value) or int8 (1 byte a value plus a scale per image)
  --model DIR      model folder (default: the one the index was made with); must be the model
                   that made the index`;

function vectorsFlag(value: string | undefined): SiteVectorType {
  if (value === undefined) return "float16";
  if ((SITE_VECTOR_TYPES as readonly string[]).includes(value)) return value as SiteVectorType;
  throw new UsageError(`--vectors must be one of ${SITE_VECTOR_TYPES.join(", ")}, got '${value}'`);
}

export const exportSiteCommand: Command = {
  name: "site",
  summary: "write a static page that searches an index in the browser",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags(argv, {
      db: { type: "string" },
      out: { type: "string" },
      vectors: { type: "string" },
      model: { type: "string" },
    });
    if (!values.db) throw new UsageError("--db FILE is required (the index written by koclip index)");
    if (!values.out) throw new UsageError("--out DIR is required");
    const vectors = vectorsFlag(values.vectors);
    const collection = Collection.open(values.db, { readonly: true });
    try {
      const model = await loadModel(resolveModelDir(values.model, [collection.status().model]));
      try {
        const r = await exportSite(collection, model, values.out, { vectors });
        console.log(`${values.out}: ${r.images} images, ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${r.files.length} files; serve the folder with any static file server`);
      } finally {
        model.dispose();
      }
    } finally {
      collection.close();
    }
    return 0;
  },
};
