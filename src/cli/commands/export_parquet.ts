/** `koclip export parquet`: writes an index's images and embeddings as Parquet for vector databases. */
import { exportIndexParquet } from "../../collection/embedding_shards.js";
import { parseFlags, UsageError, type Command } from "../command.js";

const USAGE = `usage: koclip export parquet --db FILE --out DIR
       koclip export FILE --format parquet --out DIR

Writes every image of an index as DIR/part-00000-of-00001.parquet: columns id (the index's
image id), path (relative to the indexed folder), sha256, embedding (fixed-size list of
float32, L2-normalised) and model_fingerprint, the layout \`koclip embed --out\` writes.
Qdrant, Milvus, OpenSearch, LanceDB and pgvector loaders read it; see docs/vector-databases.md.
The file appears complete or not at all (written aside, then renamed).

options:
  --db FILE    the index (made by koclip index); may also be given as the first argument
  --out DIR    output folder (created if missing)`;

export const exportParquetCommand: Command = {
  name: "parquet",
  summary: "an index's embeddings as Parquet, for vector databases",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags(argv, { db: { type: "string" }, out: { type: "string" } }, true);
    if (positionals.length > 1 || (positionals.length === 1 && values.db !== undefined)) throw new UsageError("give one index, as --db FILE or as the first argument");
    const db = values.db ?? positionals[0];
    if (!db) throw new UsageError("--db FILE is required");
    if (!values.out) throw new UsageError("--out DIR is required");
    const { file, rows } = exportIndexParquet(db, values.out);
    console.log(`wrote ${file}: ${rows} images`);
    return 0;
  },
};
