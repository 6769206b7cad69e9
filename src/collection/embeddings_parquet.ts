/**
 * Embeddings as Parquet, the file vector databases' bulk loaders take (Qdrant, Milvus,
 * OpenSearch, LanceDB, pgvector through pyarrow or DuckDB). One row per image:
 *
 *   id                 int64      unique in the file set (the index's image id, or the image's
 *                                 position in the sorted walk for `koclip embed --out`)
 *   path               string     relative to the collection root, '/' separators
 *   sha256             string     of the file's bytes, hex
 *   embedding          fixed_size_list<float32>[embed_dim]   L2-normalised
 *   model_fingerprint  string     see modelFingerprint (the same in every row)
 *
 * Written through Arrow (apache-arrow builds the table, parquet-wasm, the arrow-rs writer,
 * encodes it), so the embedding column carries Arrow's FixedSizeList type in the file's
 * ARROW:schema: pyarrow and LanceDB read it back as fixed_size_list<float>[D], other readers
 * see a plain Parquet LIST of FLOAT. The file's key-value metadata says what made it
 * (EmbeddingFileMeta, keys `koclip.*`).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as arrow from "apache-arrow";
import * as parquet from "parquet-wasm";

/** One image's row. */
export interface EmbeddingRow {
  id: number;
  path: string;
  sha256: string;
  embedding: Float32Array;
}

/** A file that could not be embedded, with why (kept in the metadata, so a shard set accounts for every file). */
export interface SkippedFile {
  id: number;
  path: string;
  reason: string;
}

/** What a file says about itself, in its key-value metadata. */
export interface EmbeddingFileMeta {
  /** Absolute folder of the model that made the embeddings. */
  model: string;
  modelFingerprint: string;
  embedDim: number;
  /** The collection folder the paths are relative to. */
  root: string;
  /** This file's part number and how many parts the set has. */
  rank: number;
  worldSize: number;
  /** Images in the whole set (every part's rows plus skipped files). */
  files: number;
  /** Digest of the sorted file list every part was cut from (see ShardPlan.listDigest). */
  listDigest: string;
  skipped: SkippedFile[];
}

/** Value of `koclip.format`: bumped when the layout changes. */
export const EMBEDDINGS_FORMAT = "koclip-embeddings/1";

/** Rows per Parquet row group: 16 Ki rows of 512 floats is 32 MiB, a size loaders stream comfortably. */
const ROW_GROUP_ROWS = 16_384;

/**
 * Writes `rows` to `file` atomically (a temporary file renamed into place), so a reader never
 * sees half a file and a killed writer leaves nothing under the final name.
 *
 *   writeEmbeddingsParquet("out/part-00000-of-00001.parquet", rows, meta);
 */
export function writeEmbeddingsParquet(file: string, rows: EmbeddingRow[], meta: EmbeddingFileMeta): void {
  const dim = meta.embedDim;
  const flat = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    if (r.embedding.length !== dim) throw new Error(`${r.path}: embedding has ${r.embedding.length} values, expected ${dim}`);
    flat.set(r.embedding, i * dim);
  });
  const values = arrow.makeData({ type: new arrow.Float32(), length: flat.length, data: flat });
  const listType = new arrow.FixedSizeList(dim, new arrow.Field("element", new arrow.Float32(), false));
  const schema = new arrow.Schema([
    new arrow.Field("id", new arrow.Int64(), false),
    new arrow.Field("path", new arrow.Utf8(), false),
    new arrow.Field("sha256", new arrow.Utf8(), false),
    new arrow.Field("embedding", listType, false),
    new arrow.Field("model_fingerprint", new arrow.Utf8(), false),
  ]);
  const columns = [
    arrow.vectorFromArray(BigInt64Array.from(rows, (r) => BigInt(r.id))),
    arrow.vectorFromArray(rows.map((r) => r.path), new arrow.Utf8()),
    arrow.vectorFromArray(rows.map((r) => r.sha256), new arrow.Utf8()),
    arrow.makeVector(arrow.makeData({ type: listType, length: rows.length, nullCount: 0, child: values })),
    arrow.vectorFromArray(rows.map(() => meta.modelFingerprint), new arrow.Utf8()),
  ];
  const batch = new arrow.RecordBatch(schema, arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: rows.length,
    nullCount: 0,
    children: columns.map((c) => c.data[0]!),
  }));
  const table = parquet.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table(schema, [batch]), "stream"));
  const props = new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression.SNAPPY)
    // Dictionaries pay only for the repeated fingerprint; on floats they cost 3x the write time.
    .setDictionaryEnabled(false)
    .setColumnDictionaryEnabled("model_fingerprint", true)
    .setMaxRowGroupSize(ROW_GROUP_ROWS)
    .setCreatedBy("koclip")
    .setKeyValueMetadata(metaToKeyValues(meta))
    .build();
  const bytes = parquet.writeParquet(table, props);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Reads a file written by writeEmbeddingsParquet; anything else fails with a message naming
 * the file and what is wrong with it.
 *
 *   const { rows, meta } = readEmbeddingsParquet("out/part-00000-of-00002.parquet");
 *   rows[0]   // { id: 0, path: "2024/beach.jpg", sha256: "9f2c…", embedding: Float32Array(512) }
 */
export function readEmbeddingsParquet(file: string): { rows: EmbeddingRow[]; meta: EmbeddingFileMeta } {
  let table: arrow.Table;
  try {
    table = arrow.tableFromIPC(parquet.readParquet(readFileSync(file)).intoIPCStream());
  } catch (err) {
    throw new Error(`${file}: not a readable Parquet file (${(err as Error).message})`);
  }
  const meta = metaFromKeyValues(file, table.schema.metadata);
  const expect = (name: string, typeId: arrow.Type) => {
    const field = table.schema.fields.find((f) => f.name === name);
    if (!field || field.type.typeId !== typeId) throw new Error(`${file}: column ${name} is missing or has type ${field?.type ?? "none"}`);
    const nulls = table.getChild(name)!.nullCount;
    if (nulls > 0) throw new Error(`${file}: column ${name} has ${nulls} nulls`);
  };
  expect("id", arrow.Type.Int);
  expect("path", arrow.Type.Utf8);
  expect("sha256", arrow.Type.Utf8);
  expect("embedding", arrow.Type.FixedSizeList);
  expect("model_fingerprint", arrow.Type.Utf8);
  const width = (table.schema.fields.find((f) => f.name === "embedding")!.type as arrow.FixedSizeList).listSize;
  if (width !== meta.embedDim) throw new Error(`${file}: embeddings have ${width} values, the metadata says ${meta.embedDim}`);
  const rows: EmbeddingRow[] = [];
  // Batch by batch, the embeddings copied out of each batch's one float buffer (per-row
  // Vector.get is several times slower on files of 100k rows).
  for (const batch of table.batches) {
    const ids = batch.getChild("id")!.toArray() as BigInt64Array;
    const paths = batch.getChild("path")!.toArray() as string[];
    const hashes = batch.getChild("sha256")!.toArray() as string[];
    const fingerprints = batch.getChild("model_fingerprint")!.toArray() as string[];
    const list = batch.getChild("embedding")!.data[0]!;
    const values = list.children[0]!;
    const floats = (values.values as Float32Array).subarray(values.offset + list.offset * width);
    for (let i = 0; i < batch.numRows; i++) {
      if (fingerprints[i] !== meta.modelFingerprint) throw new Error(`${file}: row ${rows.length} was made by model ${fingerprints[i]}, the file by ${meta.modelFingerprint}`);
      rows.push({ id: Number(ids[i]), path: paths[i]!, sha256: hashes[i]!, embedding: floats.slice(i * width, (i + 1) * width) });
    }
  }
  return { rows, meta };
}

function metaToKeyValues(m: EmbeddingFileMeta): Map<string, string> {
  return new Map([
    ["koclip.format", EMBEDDINGS_FORMAT],
    ["koclip.model", m.model],
    ["koclip.model_fingerprint", m.modelFingerprint],
    ["koclip.embed_dim", String(m.embedDim)],
    ["koclip.root", m.root],
    ["koclip.rank", String(m.rank)],
    ["koclip.world_size", String(m.worldSize)],
    ["koclip.files", String(m.files)],
    ["koclip.list_digest", m.listDigest],
    ["koclip.skipped", JSON.stringify(m.skipped)],
  ]);
}

function metaFromKeyValues(file: string, kv: Map<string, string>): EmbeddingFileMeta {
  const format = kv.get("koclip.format");
  if (format !== EMBEDDINGS_FORMAT) throw new Error(`${file}: not a koclip embeddings file (koclip.format is ${format ?? "missing"}, expected ${EMBEDDINGS_FORMAT})`);
  const text = (key: string) => {
    const v = kv.get(key);
    if (v === undefined) throw new Error(`${file}: metadata ${key} is missing`);
    return v;
  };
  const int = (key: string, min: number) => {
    const v = Number(text(key));
    if (!Number.isSafeInteger(v) || v < min) throw new Error(`${file}: metadata ${key} is '${text(key)}', expected an integer >= ${min}`);
    return v;
  };
  return {
    model: text("koclip.model"),
    modelFingerprint: text("koclip.model_fingerprint"),
    embedDim: int("koclip.embed_dim", 1),
    root: text("koclip.root"),
    rank: int("koclip.rank", 0),
    worldSize: int("koclip.world_size", 1),
    files: int("koclip.files", 0),
    listDigest: text("koclip.list_digest"),
    skipped: JSON.parse(text("koclip.skipped")) as SkippedFile[],
  };
}
