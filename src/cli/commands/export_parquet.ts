/** `koclip export parquet`: writes an index's images and embeddings as Parquet for vector databases. */
import { exportIndexParquet } from "../../index/embedding_shards.js";
import { parseFlags, UsageError } from "../command.js";

export const EXPORT_PARQUET_USAGE = `usage: koclip export parquet --db FILE --out DIR
       koclip export FILE --format parquet --out DIR

Writes every image of an index as DIR/part-00000-of-00001.parquet: columns id (the index's
image id), path (relative to the indexed folder), sha256, embedding (fixed-size list of
float32, L2-normalised) and model_fingerprint, the layout \`koclip embed --out\` writes.
Qdrant, Milvus, OpenSearch, LanceDB and pgvector loaders read it; see docs/vector-databases.md.
The file appears complete or not at all (written aside, then renamed).

options:
  --db FILE    the index (made by koclip index)
  --out DIR    output folder (created if missing)`;

/** Runs `koclip export parquet` with the arguments after `parquet` (`--db` may also come as `db`). */
export async function runExportParquet(argv: string[], db?: string): Promise<number> {
  const { values } = parseFlags(argv, { db: { type: "string" }, out: { type: "string" }, format: { type: "string" } });
  const file = values.db ?? db;
  if (!file) throw new UsageError("--db FILE is required");
  if (!values.out) throw new UsageError("--out DIR is required");
  const { file: written, rows } = exportIndexParquet(file, values.out);
  console.log(`wrote ${written}: ${rows} images`);
  return 0;
}
