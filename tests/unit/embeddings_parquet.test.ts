// Parquet embedding files read back by an independent reader (hyparquet, not the arrow-rs
// writer that made them); shard sets checked for completeness and consistency.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as arrow from "apache-arrow";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { partName, readEmbeddingShards, shardRange } from "../../src/collection/embedding_shards.js";
import { readEmbeddingsParquet, writeEmbeddingsParquet, type EmbeddingFileMeta, type EmbeddingRow } from "../../src/collection/embeddings_parquet.js";
import { mulberry32 } from "../helpers/random.js";

let work: string;
before(() => (work = mkdtempSync(join(tmpdir(), "koclip-parquet-"))));
after(() => rmSync(work, { recursive: true, force: true }));

const DIM = 8;
const rng = mulberry32(5);
const row = (id: number, path: string): EmbeddingRow => ({ id, path, sha256: id.toString(16).padStart(64, "0"), embedding: Float32Array.from({ length: DIM }, () => rng() - 0.5) });
const meta = (over: Partial<EmbeddingFileMeta> = {}): EmbeddingFileMeta => ({
  model: "/models/m", modelFingerprint: "0123456789abcdef", embedDim: DIM, root: "/photos", rank: 0, worldSize: 1, files: 3, listDigest: "feedfacefeedface", skipped: [], ...over,
});

/** A file's bytes as the ArrayBuffer hyparquet reads. */
function arrayBuffer(file: string): ArrayBuffer {
  const b = readFileSync(file);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

test("shardRange: contiguous slices that cover 0..n once, sizes within one", () => {
  for (const [n, w] of [[0, 3], [1, 2], [7, 2], [10, 3], [5, 5], [3, 8]] as const) {
    const slices = Array.from({ length: w }, (_, r) => shardRange(n, r, w));
    assert.equal(slices[0]!.start, 0);
    assert.equal(slices.at(-1)!.end, n);
    slices.forEach((s, r) => r > 0 && assert.equal(s.start, slices[r - 1]!.end));
    const sizes = slices.map((s) => s.end - s.start);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${n} over ${w}: ${sizes}`);
  }
  assert.throws(() => shardRange(5, 2, 2), /rank must be an integer in 0\.\.1, got 2/);
  assert.equal(partName(3, 12), "part-00003-of-00012.parquet");
});

test("a written file reads back through hyparquet: schema, rows, metadata", async () => {
  const rows = [row(0, "a.jpg"), row(1, "sub/b.png"), row(2, "사진/c.webp")];
  const file = join(work, "one.parquet");
  writeEmbeddingsParquet(file, rows, meta({ skipped: [{ id: 3, path: "bad.jpg", reason: "unreadable: empty file" }], files: 4 }));
  assert.deepEqual(readdirSync(work).filter((n) => n.includes(".tmp-")), [], "no temporary file left");

  const ab = arrayBuffer(file);
  const md = parquetMetadata(ab);
  const schema = Object.fromEntries(md.schema.map((s) => [s.name, s]));
  assert.equal(schema.id!.type, "INT64");
  assert.equal(schema.path!.converted_type, "UTF8");
  assert.equal(schema.embedding!.converted_type, "LIST", "the embedding is a Parquet LIST, what loaders take as list<float>");
  assert.equal(schema.element!.type, "FLOAT");
  const kv = new Map(md.key_value_metadata!.map((e) => [e.key, e.value]));
  assert.equal(kv.get("koclip.model_fingerprint"), "0123456789abcdef");
  assert.equal(kv.get("koclip.embed_dim"), String(DIM));
  assert.deepEqual(JSON.parse(kv.get("koclip.skipped")!), [{ id: 3, path: "bad.jpg", reason: "unreadable: empty file" }]);
  // pyarrow and LanceDB take the column types from the Arrow schema the writer (arrow-rs) embeds:
  // decoded here by apache-arrow's JS IPC reader.
  const arrowSchema = arrow.tableFromIPC(Buffer.from(kv.get("ARROW:schema")!, "base64")).schema;
  assert.deepEqual(arrowSchema.fields.map((f) => `${f.name}: ${f.type}${f.nullable ? "?" : ""}`), [
    "id: Int64", "path: Utf8", "sha256: Utf8", `embedding: FixedSizeList[${DIM}]<Float32>`, "model_fingerprint: Utf8",
  ]);

  const back = await parquetReadObjects({ file: ab });
  assert.equal(back.length, 3);
  back.forEach((r, i) => {
    assert.equal(r.id, BigInt(rows[i]!.id));
    assert.equal(r.path, rows[i]!.path);
    assert.equal(r.sha256, rows[i]!.sha256);
    assert.equal(r.model_fingerprint, "0123456789abcdef");
    assert.deepEqual(Float32Array.from(r.embedding as number[]), rows[i]!.embedding, "float32 values bit for bit");
  });

  const ours = readEmbeddingsParquet(file);
  assert.deepEqual(ours.rows, rows);
  assert.equal(ours.meta.files, 4);
});

test("a file longer than one read batch (1024 rows) reads back whole and in order", async () => {
  const rows = Array.from({ length: 2500 }, (_, i) => row(i * 3, `dir${i % 7}/img${i}.jpg`));
  const file = join(work, "long.parquet");
  writeEmbeddingsParquet(file, rows, meta({ files: rows.length }));
  assert.deepEqual(readEmbeddingsParquet(file).rows, rows);
  const back = await parquetReadObjects({ file: arrayBuffer(file), columns: ["id", "embedding"] });
  assert.deepEqual(back.map((r) => Number(r.id)), rows.map((r) => r.id));
  assert.deepEqual(Float32Array.from(back[2499]!.embedding as number[]), rows[2499]!.embedding);
});

test("readEmbeddingsParquet refuses files it did not write, naming the problem", () => {
  const file = join(work, "not.parquet");
  writeFileSync(file, "PAR1 this is not parquet");
  assert.throws(() => readEmbeddingsParquet(file), /not\.parquet: not a readable Parquet file/);
  const wrongDim = join(work, "dim.parquet");
  assert.throws(() => writeEmbeddingsParquet(wrongDim, [row(0, "a.jpg")], meta({ embedDim: 4 })), /a\.jpg: embedding has 8 values, expected 4/);
});

/** Writes a 2-part set of 5 images into a fresh folder and returns it. */
function twoParts(name: string, second: Partial<EmbeddingFileMeta> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const paths = ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"];
  writeEmbeddingsParquet(join(dir, partName(0, 2)), [row(0, paths[0]!), row(1, paths[1]!)], meta({ rank: 0, worldSize: 2, files: 5 }));
  writeEmbeddingsParquet(join(dir, partName(1, 2)), [row(2, paths[2]!), row(4, paths[4]!)], meta({ rank: 1, worldSize: 2, files: 5, skipped: [{ id: 3, path: "d.jpg", reason: "unreadable" }], ...second }));
  return dir;
}

test("readEmbeddingShards: a complete set, and each way a set can be wrong", () => {
  const good = readEmbeddingShards(twoParts("good"));
  assert.deepEqual([...good.rows.keys()], ["a.jpg", "b.jpg", "c.jpg", "e.jpg"]);
  assert.equal(good.skipped.length, 1);
  assert.equal(good.parts, 2);

  assert.throws(() => readEmbeddingShards(twoParts("fp", { modelFingerprint: "ffffffffffffffff" })), /part-00001-of-00002\.parquet was made with model fingerprint ffffffffffffffff, part-00000-of-00002\.parquet with 0123456789abcdef/);
  assert.throws(() => readEmbeddingShards(twoParts("list", { files: 6 })), /was made with image list 6:feedfacefeedface, .* with 5:feedfacefeedface/);

  const missing = twoParts("missing");
  rmSync(join(missing, partName(1, 2)));
  assert.throws(() => readEmbeddingShards(missing), /missing part-00001-of-00002\.parquet/);

  const mixed = twoParts("mixed");
  writeEmbeddingsParquet(join(mixed, partName(0, 3)), [row(0, "a.jpg")], meta({ rank: 0, worldSize: 3 }));
  assert.throws(() => readEmbeddingShards(mixed), /mixes parts of runs with 2 and 3 ranks/);

  const renamed = twoParts("renamed");
  copyFileSync(join(renamed, partName(0, 2)), join(renamed, partName(1, 2)));
  assert.throws(() => readEmbeddingShards(renamed), /part-00001-of-00002\.parquet says it is rank 0 of 2/);

  const short = twoParts("short", { skipped: [] });
  assert.throws(() => readEmbeddingShards(short), /the parts hold 4 of the run's 5 images/);

  const twice = twoParts("twice");
  writeEmbeddingsParquet(join(twice, partName(1, 2)), [row(1, "b.jpg"), row(2, "c.jpg"), row(4, "e.jpg")], meta({ rank: 1, worldSize: 2, files: 5 }));
  assert.throws(() => readEmbeddingShards(twice), /image b\.jpg \(id 1\) is also in another part/);

  assert.throws(() => readEmbeddingShards(join(work, "nowhere")), /nowhere: no such folder/);
  mkdirSync(join(work, "empty"));
  assert.throws(() => readEmbeddingShards(join(work, "empty")), /no part-RRRRR-of-WWWWW\.parquet files/);
});
