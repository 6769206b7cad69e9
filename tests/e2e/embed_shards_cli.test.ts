// Sharded `koclip embed`: two ranks (`--nproc 2`, and processes started with torchrun's
// environment), their Parquet parts read back by hyparquet (an independent reader), an index
// built from them compared with one built by running the model, `koclip export parquet`, and
// the bad inputs (ranks that disagree, stale or incomplete parts, another model).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import sharp from "sharp";
import { freePort } from "../../src/cli/launch.js";
import { Collection } from "../../src/collection/collection.js";
import { modelFingerprint } from "../../src/collection/fingerprint.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";
import { mulberry32 } from "../helpers/random.js";

const KOCLIP = join(REPO_ROOT, "bin", "koclip");
const MODEL = fixture("koclip-tiny", "model");
const OTHER_MODEL = fixture("clip-tiny", "model");
const run = (...args: string[]) => spawnSync(KOCLIP, args, { encoding: "utf8" });
let work: string;
let photos: string;
const IMAGES: string[] = []; // relative paths of the readable images

before(async () => {
  work = mkdtempSync(join(tmpdir(), "koclip-shards-"));
  photos = join(work, "photos");
  mkdirSync(join(photos, "x", "y"), { recursive: true });
  const rng = mulberry32(23);
  for (let i = 0; i < 11; i++) {
    const w = 40 + 7 * i, h = 30 + 5 * i;
    const raw = Buffer.from(Array.from({ length: w * h * 3 }, () => Math.floor(rng() * 256)));
    const rel = [`p${i}.png`, `x/q${i}.jpg`, `x/y/r${i}.webp`][i % 3]!;
    const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
    await (rel.endsWith(".png") ? img.png() : rel.endsWith(".jpg") ? img.jpeg() : img.webp()).toFile(join(photos, rel));
    IMAGES.push(rel);
  }
  IMAGES.sort();
  writeFileSync(join(photos, "x", "broken.jpg"), "not a jpeg");
});
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs one `koclip embed` process per entry of `ranks` at once, each with its own environment and arguments. */
async function launch(ranks: { env: Record<string, string>; args: string[] }[]): Promise<{ code: number | null; stdout: string; stderr: string }[]> {
  return Promise.all(ranks.map(({ env, args }) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(KOCLIP, ["embed", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  })));
}

/** torchrun's environment for `rank` of `worldSize` on this host. */
const torchrunEnv = (rank: number, worldSize: number, port: number) => ({ RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_RANK: String(rank), MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port) });

async function readParquet(file: string) {
  const b = readFileSync(file);
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  const kv = new Map(parquetMetadata(ab).key_value_metadata!.map((e) => [e.key, e.value]));
  return { rows: await parquetReadObjects({ file: ab }), kv };
}

function dbRows(db: string) {
  const c = Collection.open(db, { readonly: true });
  try {
    return { status: c.status(), rows: c.list().map((i) => ({ path: i.relPath, hash: i.hash, size: i.size, width: i.width, height: i.height, embedding: c.embedding(i.id)!, thumbnail: c.thumbnail(i.id)! })) };
  } finally {
    c.close();
  }
}

let shards: string;

test("koclip embed --nproc 2 writes parts whose union is every image once; an index from them equals one made by the model", async () => {
  shards = join(work, "shards");
  const r = run("embed", "--nproc", "2", "--model", MODEL, "--images", photos, "--out", shards, "--batch-size", "4", "--quiet");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /rank 0\/2: wrote .*part-00000-of-00002\.parquet: \d+ images \(0\.\.5 of 12\)/);
  assert.deepEqual(readdirSync(shards).sort(), ["part-00000-of-00002.parquet", "part-00001-of-00002.parquet"]);

  const parts = await Promise.all(readdirSync(shards).sort().map((n) => readParquet(join(shards, n))));
  const rows = parts.flatMap((p) => p.rows);
  assert.deepEqual(rows.map((r) => r.path).sort(), IMAGES, "every readable image in exactly one part");
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, "ids unique across parts");
  const skipped = parts.flatMap((p) => JSON.parse(p.kv.get("koclip.skipped")!) as { path: string; reason: string }[]);
  assert.deepEqual(skipped.map((s) => s.path), ["x/broken.jpg"]);
  assert.match(skipped[0]!.reason, /unreadable/);
  const fingerprint = modelFingerprint(MODEL);
  for (const r of rows) {
    assert.equal(r.model_fingerprint, fingerprint);
    assert.equal(r.sha256, createHash("sha256").update(readFileSync(join(photos, r.path as string))).digest("hex"));
    assert.equal((r.embedding as number[]).length, 16);
    assert.ok(Math.abs(Math.hypot(...(r.embedding as number[])) - 1) < 1e-5, "L2-normalised");
  }

  const fromShards = join(work, "from-shards.db");
  const a = run("index", photos, "--from-embeddings", shards, "--db", fromShards, "--json", "--quiet");
  assert.equal(a.status, 0, a.stderr);
  assert.equal(JSON.parse(a.stdout).added, IMAGES.length);
  const fromModel = join(work, "from-model.db");
  const b = run("index", photos, "--model", MODEL, "--db", fromModel, "--json", "--quiet");
  assert.equal(b.status, 0, b.stderr);

  const A = dbRows(fromShards), B = dbRows(fromModel);
  assert.equal(A.status.modelFingerprint, B.status.modelFingerprint);
  assert.equal(A.status.model, B.status.model);
  assert.equal(A.status.skipped, 1);
  assert.equal(A.rows.length, B.rows.length);
  A.rows.forEach((ra, i) => {
    const rb = B.rows[i]!;
    assert.deepEqual({ ...ra, embedding: null }, { ...rb, embedding: null }, `${ra.path}: same row and thumbnail`);
    ra.embedding.forEach((v, k) => assert.ok(Math.abs(v - rb.embedding[k]!) <= 1e-6, `${ra.path}[${k}]: ${v} vs ${rb.embedding[k]}`));
  });

  // A re-run finds nothing to do, like koclip index.
  const again = run("index", photos, "--from-embeddings", shards, "--db", fromShards, "--json", "--quiet");
  assert.equal(JSON.parse(again.stdout).unchanged, IMAGES.length);
});

test("koclip export writes an index as Parquet that hyparquet reads back, and that indexes again", async () => {
  const db = join(work, "from-model.db");
  const out = join(work, "export");
  for (const args of [["export", db, "--format", "parquet", "--out", out], ["export", "parquet", "--db", db, "--out", join(work, "export2")]]) {
    const r = run(...args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`wrote .*part-00000-of-00001\\.parquet: ${IMAGES.length} images`));
  }
  const { rows, kv } = await readParquet(join(out, "part-00000-of-00001.parquet"));
  assert.equal(kv.get("koclip.model_fingerprint"), modelFingerprint(MODEL));
  const c = Collection.open(db, { readonly: true });
  try {
    const images = c.list();
    assert.deepEqual(rows.map((r) => [Number(r.id), r.path, r.sha256]), images.map((i) => [i.id, i.relPath, i.hash]));
    rows.forEach((r, i) => assert.deepEqual(Float32Array.from(r.embedding as number[]), c.embedding(images[i]!.id), "stored float32 values exactly"));
  } finally {
    c.close();
  }
  const re = run("index", photos, "--from-embeddings", out, "--db", join(work, "from-export.db"), "--json", "--quiet");
  assert.equal(re.status, 0, re.stderr);
  assert.equal(JSON.parse(re.stdout).added, IMAGES.length);

  const none = run("export");
  assert.equal(none.status, 2);
  assert.match(none.stderr, /say what to export/);
  const missing = run("export", join(work, "nope.db"), "--format", "parquet", "--out", out);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.db: no such index/);
});

test("koclip embed --file-list embeds only the listed files", async () => {
  const list = join(work, "list.txt");
  writeFileSync(list, `# three of them\n${IMAGES[5]}\n${IMAGES[0]}\n${join(photos, IMAGES[9]!)}\n`);
  const out = join(work, "listed");
  const r = run("embed", "--model", MODEL, "--images", photos, "--file-list", list, "--out", out, "--quiet");
  assert.equal(r.status, 0, r.stderr);
  const { rows, kv } = await readParquet(join(out, "part-00000-of-00001.parquet"));
  assert.deepEqual(rows.map((row) => [Number(row.id), row.path]), [[0, IMAGES[0]], [1, IMAGES[5]], [2, IMAGES[9]]]);
  assert.equal(kv.get("koclip.files"), "3");
});

test("ranks started with different world sizes or models fail before writing anything", async () => {
  // Rank 0 names the difference; a peer may instead see rank 0 gone once it has failed.
  const cases = [
    { name: "world", ranks: (port: number) => [{ env: torchrunEnv(0, 2, port), model: MODEL }, { env: torchrunEnv(1, 3, port), model: MODEL }], error: /rank 0: rank 1 was started with WORLD_SIZE=3, rank 0 with WORLD_SIZE=2/ },
    { name: "model", ranks: (port: number) => [{ env: torchrunEnv(0, 2, port), model: MODEL }, { env: torchrunEnv(1, 2, port), model: OTHER_MODEL }], error: /rank 0: rank 1 started with another model fingerprint than rank 0/ },
  ];
  for (const c of cases) {
    const out = join(work, `bad-${c.name}`);
    const port = await freePort();
    const results = await launch(c.ranks(port).map(({ env, model }) => ({ env, args: ["--model", model, "--images", photos, "--out", out, "--quiet", "--dist-timeout", "20"] })));
    results.forEach((r, rank) => {
      assert.equal(r.code, 1, `${c.name}, rank ${rank} fails: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
    });
    assert.match(results[0]!.stderr, c.error);
    assert.ok(!existsSync(out) || readdirSync(out).length === 0, `${c.name}: nothing written to --out`);
  }

  // Parts of a 2-rank run left in --out: a 1-rank run refuses to mix with them.
  const stale = run("embed", "--model", MODEL, "--images", photos, "--out", shards);
  assert.equal(stale.status, 1);
  assert.match(stale.stderr, /holds part-00000-of-00002\.parquet, from a run with 2 ranks, and this run has 1; use an empty --out/);
  writeFileSync(join(work, "a-file"), "");
  const onFile = run("embed", "--model", MODEL, "--images", photos, "--out", join(work, "a-file"));
  assert.equal(onFile.status, 1);
  assert.match(onFile.stderr, /a-file is a file; --out takes a folder/);
});

test("koclip index --from-embeddings refuses incomplete parts, another model, and an index of another model", () => {
  const incomplete = join(work, "incomplete");
  mkdirSync(incomplete);
  copyFileSync(join(shards, "part-00000-of-00002.parquet"), join(incomplete, "part-00000-of-00002.parquet"));
  const db = join(work, "refused.db");
  const r1 = run("index", photos, "--from-embeddings", incomplete, "--db", db);
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /missing part-00001-of-00002\.parquet \(did that rank fail\?\)/);
  assert.ok(!existsSync(db), "no index created");

  const r2 = run("index", photos, "--from-embeddings", shards, "--model", OTHER_MODEL, "--db", db);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /has fingerprint [0-9a-f]{16}, the embeddings were made by a model with [0-9a-f]{16}/);
  assert.ok(!existsSync(db), "no index created");

  const other = join(work, "other-model.db");
  assert.equal(run("index", photos, "--model", OTHER_MODEL, "--db", other, "--quiet").status, 0);
  const rowsBefore = dbRows(other);
  const r3 = run("index", photos, "--from-embeddings", shards, "--db", other);
  assert.equal(r3.status, 1);
  assert.match(r3.stderr, /other-model\.db was made with model .*clip-tiny.* \(fingerprint [0-9a-f]{16}\), the embeddings with fingerprint [0-9a-f]{16}; use another --db/);
  assert.deepEqual(dbRows(other), rowsBefore, "the index is unchanged");
});
