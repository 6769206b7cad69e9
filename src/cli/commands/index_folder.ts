/** `koclip index DIR`: builds or updates the searchable index of a photo folder. */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Collection } from "../../collection/collection.js";
import { indexFolder, indexFromEmbeddings, type IndexProgress, type IndexReport } from "../../collection/build.js";
import { readEmbeddingShards } from "../../collection/embedding_shards.js";
import { modelIdentity } from "../../collection/fingerprint.js";
import { startPrepareWorkers } from "../../collection/prepare_pool.js";
import { resolveModelDir } from "../../models/default_model.js";
import { loadModel } from "../../models/load.js";
import { intFlag, JSON_FLAG, MODEL_FLAGS, modelFlagsHelp, parseFlags, precisionFlag, UsageError, type Command } from "../command.js";
import { ProgressLine } from "../progress.js";

/** Index file used when --db is not given: hidden, inside the folder (the walk skips dot files). */
export const DEFAULT_DB_NAME = ".koclip-index.db";

const USAGE = `usage: koclip index DIR [--model DIR] [--db FILE] [options]

Walks DIR for images (jpg, png, webp, gif (first frame), tiff, avif, heic/heif) and stores
path, size, mtime, sha256, a thumbnail and the embedding of each in an SQLite file. Re-running
updates it: unchanged files are skipped (size+mtime, then hash), changed ones
re-embedded, deleted ones removed. A run killed at any point can simply be run again.
Unreadable or oversized images are recorded as skipped with the reason, never fatal.
Indexing with a different model than the index was made with re-embeds every image.

With --from-embeddings OUT the vectors come from the Parquet parts of \`koclip embed --images DIR
--out OUT\` (or \`koclip export parquet\`) instead of a model run: files are still read, hashed
and thumbnailed, and each takes the vector of the part row with its path and sha256. Files with
none (added or changed since) are recorded as skipped with the reason. The parts must form one
complete run of one model; an index made with another model is refused.

options:
  --db FILE            index file (default DIR/${DEFAULT_DB_NAME})
${modelFlagsHelp("model folder or Hugging Face id (default: the index's model, else models/koclip-emoji;\n                       with --from-embeddings: the model the parts name, checked by fingerprint)", 23)}
  --from-embeddings OUT  take the vectors from OUT/part-*.parquet instead of running the model
  --max-pixels N       skip images with more pixels than this (default 100000000)
  --batch-size N       images per forward pass (default 16 on the CPU, 32 on a GPU)
  --ann-threshold N    rows from which search uses HNSW instead of exact (default 20000;
                       recorded in the index, so later searches and the server use it too)
  --precision P        fp32 (default), bf16 (bfloat16 matrix products; faster on CPUs with
                       AVX-512 BF16 or AMX, and on GPUs) or int8 (CPU: int8 Linear layers;
                       fastest with AVX-512 VNNI or AMX); embeddings within cosine 0.999 of fp32
  --exact-preprocessing  decode every image in full, for Pillow's pixels as \`koclip encode\` and
                       evaluation use them (default: JPEGs and WebPs at least 6x the model's
                       input are decoded at a reduced size; embeddings within cosine 0.999)
  --json               print the report as JSON
  --quiet              no progress bar`;

/** `[#####-----]  120/500  added 100  updated 0  skipped 2  35.1 img/s` */
export function progressLine(p: IndexProgress, width = 24): string {
  const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width);
  const bar = "#".repeat(filled) + "-".repeat(width - filled);
  return `[${bar}] ${String(p.done).padStart(String(p.total).length)}/${p.total}  added ${p.added}  updated ${p.updated}  skipped ${p.skipped}  ${p.rate.toFixed(1)} img/s`;
}

function summary(dir: string, r: IndexReport): string {
  const embedded = r.added + r.updated;
  const lines = [
    `indexed ${dir}: ${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ${r.removed} removed, ${r.skipped.length} skipped` +
      ` (${r.seconds.toFixed(1)} s${embedded ? `, ${(embedded / r.seconds).toFixed(1)} img/s` : ""})`,
  ];
  if (r.reembedded) lines.push(`the index was made with another model: ${r.reembedded} images re-embedded`);
  for (const s of r.skipped) lines.push(`  skipped ${s.path}: ${s.reason}`);
  return lines.join("\n");
}

export const indexCommand: Command = {
  name: "index",
  summary: "index a photo folder for search (incremental)",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags(argv, {
      db: { type: "string" },
      ...MODEL_FLAGS,
      ...JSON_FLAG,
      "max-pixels": { type: "string" },
      "batch-size": { type: "string" },
      "ann-threshold": { type: "string" },
      precision: { type: "string" },
      "exact-preprocessing": { type: "boolean" },
      quiet: { type: "boolean" },
      "from-embeddings": { type: "string" },
    }, true);
    if (positionals.length !== 1) throw new UsageError(positionals.length ? `give one folder, got ${positionals.length}` : "give the folder to index");
    const dir = positionals[0]!;
    if (!existsSync(dir)) throw new Error(`${dir}: no such folder`);
    const db = values.db ?? join(dir, DEFAULT_DB_NAME);
    const maxPixels = intFlag("max-pixels", values["max-pixels"]) ?? 100_000_000;
    const batchSize = intFlag("batch-size", values["batch-size"]);
    const precision = precisionFlag(values.precision);
    const annThreshold = intFlag("ann-threshold", values["ann-threshold"], 0);
    const preprocessing = values["exact-preprocessing"] ? "exact" : "reduced";

    const line = new ProgressLine();
    const onProgress = values.quiet ? undefined : (p: IndexProgress) => line.update(p.done, p.total, progressLine(p));
    const print = (report: IndexReport, model: string) => {
      line.end();
      if (values.json) process.stdout.write(JSON.stringify({ db, model, ...report }) + "\n");
      else console.log(summary(dir, report));
    };
    if (values["from-embeddings"] !== undefined) {
      if (values.device !== undefined || values.precision !== undefined) throw new UsageError("--device and --precision choose how a model runs; --from-embeddings runs none");
      const shards = readEmbeddingShards(values["from-embeddings"]);
      const modelDir = values.model ?? shards.model;
      if (!existsSync(modelDir)) throw new Error(`the embeddings were made with ${shards.model}, which is not on this machine; give --model DIR (a copy of it), which search needs for text queries`);
      const id = modelIdentity(modelDir);
      if (id.fingerprint !== shards.fingerprint) throw new Error(`${modelDir} has fingerprint ${id.fingerprint}, the embeddings were made by a model with ${shards.fingerprint} (${shards.model})`);
      print(await indexFromEmbeddings(dir, shards, { db, modelName: id.model, maxPixels, batchSize, annThreshold, preprocessing, onProgress }), id.model);
      return 0;
    }

    let recordedModel: string | null = null;
    if (existsSync(db)) {
      using c = Collection.open(db, { readonly: true });
      recordedModel = c.status().model;
    }
    startPrepareWorkers(availableParallelism()); // while the model loads: indexFolder's pool takes them
    using model = await loadModel(resolveModelDir(values.model, [recordedModel]), { device: values.device, precision });
    print(await indexFolder(dir, model, { db, maxPixels, batchSize, annThreshold, preprocessing, onProgress }), model.dir);
    return 0;
  },
};
