/** `koclip search`: text → image or image → image over an index made by `koclip index`. */
import { Collection } from "../../collection/collection.js";
import { resolveModelDir } from "../../models/default_model.js";
import { searchByImage, searchByText } from "../../collection/query.js";
import { loadModel } from "../../models/load.js";
import { intFlag, JSON_FLAG, MODEL_FLAGS, modelFlagsHelp, parseFlags, UsageError, type Command } from "../command.js";

const USAGE = `usage: koclip search TEXT --db FILE [options]
       koclip search --image FILE --db FILE [options]

Prints the images of an index that best match a Korean (or English) text, or that look most
like an image, best first, with their cosine similarity:
    1  0.3124  /photos/2023/beach.jpg

options:
  --db FILE       index file written by koclip index (required)
  --image FILE    search by this image instead of a text
  --k N           how many results (default 20)
${modelFlagsHelp("model folder or Hugging Face id (default: the one the index was made with, else models/koclip-emoji);\n                  must be the model that made the index", 18)}
  --json          print {"query", "db", "model", "hits": [{"id", "path", "score"}]}`;

export const searchCommand: Command = {
  name: "search",
  summary: "search an indexed photo folder by text or by image",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags(argv, {
      db: { type: "string" },
      image: { type: "string" },
      k: { type: "string" },
      ...MODEL_FLAGS,
      ...JSON_FLAG,
    }, true);
    if (!values.db) throw new UsageError("--db FILE is required (the index written by koclip index)");
    if (values.image !== undefined && positionals.length) throw new UsageError("give either a text or --image, not both");
    if (values.image === undefined && positionals.length !== 1) throw new UsageError(positionals.length ? "give the text as one argument (quote it)" : "give a text to search for, or --image FILE");
    const k = intFlag("k", values.k) ?? 20;
    using collection = Collection.open(values.db, { readonly: true });
    using model = await loadModel(resolveModelDir(values.model, [collection.status().model]), { device: values.device });
    const hits = values.image !== undefined
      ? await searchByImage(collection, model, values.image, k)
      : await searchByText(collection, model, positionals[0]!, k);
    if (values.json) {
      const query = values.image !== undefined ? { image: values.image } : { text: positionals[0] };
      process.stdout.write(JSON.stringify({ query, db: values.db, model: model.dir, hits }) + "\n");
    } else if (hits.length === 0) {
      console.log(`no images in ${values.db}`);
    } else {
      const w = String(hits.length).length;
      hits.forEach((h, i) => console.log(`${String(i + 1).padStart(w)}  ${h.score.toFixed(4)}  ${h.path}`));
    }
    return 0;
  },
};
