// `koclip index / search / classify` as a user runs them, including a real SIGKILL of an
// indexing run (several times, at different points) followed by a re-run, compared with a
// clean run. KOCLIP_CLI overrides the launcher (default bin/koclip).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { Collection } from "../../src/collection/collection.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";
import { mulberry32 } from "../helpers/random.js";
import { EMOJI_CASES, emojiImages, rankingModelDir } from "./server_setup.js";

const KOCLIP = process.env.KOCLIP_CLI ?? join(REPO_ROOT, "bin", "koclip");
const MODEL = fixture("koclip-tiny", "model");
const IMAGE = fixture("image-processor", "images", "photo_800x600.jpg");
const run = (...args: string[]) => spawnSync(KOCLIP, args, { encoding: "utf8" });
let work: string;
let photos: string;
const N = 48;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "koclip-cli-"));
  photos = join(work, "photos");
  mkdirSync(join(photos, "a"), { recursive: true });
  mkdirSync(join(photos, "b"), { recursive: true });
  // Distinct noisy JPEGs, big enough that decoding and resampling take a visible while.
  const rng = mulberry32(11);
  for (let i = 0; i < N; i++) {
    const w = 600, h = 400;
    const raw = Buffer.alloc(w * h * 3);
    const base = [rng() * 255, rng() * 255, rng() * 255];
    for (let p = 0; p < raw.length; p++) raw[p] = Math.max(0, Math.min(255, base[p % 3]! + (rng() - 0.5) * 120));
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(photos, i % 2 ? "a" : "b", `img${String(i).padStart(3, "0")}.jpg`));
  }
});
after(() => rmSync(work, { recursive: true, force: true }));

function dbRows(db: string) {
  const c = Collection.open(db, { readonly: true });
  try {
    return c.list().map((i) => ({ path: i.relPath, hash: i.hash, size: i.size, embedding: c.embedding(i.id)! })).sort((a, b) => (a.path < b.path ? -1 : 1));
  } finally {
    c.close();
  }
}

/** Starts `koclip index`, SIGKILLs it once `when(done, total)` holds for a progress line; resolves to the last progress seen. */
function indexAndKill(db: string, when: (done: number, total: number) => boolean): Promise<{ killed: boolean; done: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(KOCLIP, ["index", photos, "--model", MODEL, "--db", db, "--batch-size", "4"], { stdio: ["ignore", "ignore", "pipe"] });
    let buf = "", done = -1, killed = false;
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      buf += chunk;
      for (const m of buf.matchAll(/\] +(\d+)\/(\d+) /g)) {
        done = Number(m[1]);
        if (!killed && when(done, Number(m[2]))) {
          killed = true;
          child.kill("SIGKILL");
        }
      }
      buf = buf.slice(buf.lastIndexOf("\n") + 1);
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => (killed && signal === "SIGKILL") || code === 0 ? resolve({ killed, done }) : reject(new Error(`index exited ${code} ${signal}`)));
  });
}

test("indexing killed with SIGKILL at several points, then re-run, equals a clean run", async () => {
  const clean = join(work, "clean.db");
  const r = run("index", photos, "--model", MODEL, "--db", clean, "--json", "--quiet");
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.added, N);
  console.log(`clean run: ${N} images in ${report.seconds.toFixed(2)} s (${(N / report.seconds).toFixed(1)} img/s, model load excluded)`);

  const db = join(work, "killed.db");
  // 1: right after the first batch commit; 2: before anything new is committed (start of run);
  // 3: in the middle of what is left.
  const k1 = await indexAndKill(db, (done) => done >= 4);
  assert.ok(k1.killed);
  const after1 = dbRows(db).length;
  assert.ok(after1 >= 4 && after1 < N, `killed mid-run with ${after1} rows committed`);
  const k2 = await indexAndKill(db, () => true);
  assert.ok(k2.killed);
  assert.ok(dbRows(db).length >= after1, "nothing committed is lost");
  const k3 = await indexAndKill(db, (done, total) => done >= Math.floor(total / 2));
  assert.ok(k3.killed);
  const rerun = run("index", photos, "--model", MODEL, "--db", db, "--json", "--quiet");
  assert.equal(rerun.status, 0, rerun.stderr);
  const rep = JSON.parse(rerun.stdout);
  assert.equal(rep.added + rep.unchanged, N);
  assert.ok(rep.unchanged > 0, "committed rows were kept, not redone");

  const a = dbRows(clean), b = dbRows(db);
  assert.equal(b.length, N);
  assert.equal(new Set(b.map((x) => x.path)).size, N, "no duplicates");
  assert.deepEqual(b.map((x) => [x.path, x.hash, x.size]), a.map((x) => [x.path, x.hash, x.size]));
  b.forEach((x, i) => x.embedding.forEach((v, k) => assert.ok(Math.abs(v - a[i]!.embedding[k]!) < 1e-5, `${x.path}[${k}]`)));
});

test("koclip index/search/classify --json outputs; image search finds the image itself", () => {
  const db = join(work, "json.db");
  const idx = run("index", photos, "--model", MODEL, "--db", db, "--json");
  assert.equal(idx.status, 0, idx.stderr);
  const rep = JSON.parse(idx.stdout);
  assert.deepEqual([rep.added, rep.updated, rep.unchanged, rep.removed, rep.skipped], [N, 0, 0, 0, []]);
  assert.equal(rep.db, db);
  assert.match(idx.stderr, new RegExp(`\\[#+\\] ${N}/${N} +added ${N} +updated 0 +skipped 0 +[\\d.]+ img/s`));

  const text = run("search", "바닷가의 강아지", "--db", db, "--k", "5", "--json");
  assert.equal(text.status, 0, text.stderr);
  const t = JSON.parse(text.stdout);
  assert.deepEqual(t.query, { text: "바닷가의 강아지" });
  assert.equal(t.model, MODEL, "the index's model is the default");
  assert.equal(t.hits.length, 5);
  for (const h of t.hits) assert.deepEqual(Object.keys(h).sort(), ["id", "path", "score"]);

  const target = join(photos, "a", "img007.jpg");
  const img = run("search", "--image", target, "--db", db, "--k", "3", "--json");
  assert.equal(img.status, 0, img.stderr);
  const hits = JSON.parse(img.stdout).hits;
  assert.equal(hits[0].path, target);
  assert.ok(hits[0].score > 0.9999);
  const plain = run("search", "--image", target, "--db", db, "--k", "2");
  assert.match(plain.stdout.split("\n")[0]!, new RegExp(`^1  1\\.0000  ${target}$`));

  const cls = run("classify", IMAGE, target, "--labels", "고양이,강아지,자동차", "--model", MODEL, "--json");
  assert.equal(cls.status, 0, cls.stderr);
  const c = JSON.parse(cls.stdout);
  assert.equal(c.results.length, 2);
  assert.deepEqual(c.results.map((r: { image: string }) => r.image), [IMAGE, target]);
  const probs = c.results[0].predictions.map((p: { probability: number }) => p.probability);
  assert.ok(Math.abs(probs.reduce((s: number, p: number) => s + p, 0) - 1) < 1e-5);
  assert.equal(c.templates[0], "이것은 {} 이다.");
  const en = JSON.parse(run("classify", IMAGE, "--labels", "cat,dog", "--templates", "en", "--model", MODEL, "--json").stdout);
  assert.equal(en.templates[0], "a photo of a {}.");

  const patch = run("classify", IMAGE, "--patch", "고양이", "--grid", "3", "--model", MODEL, "--json");
  assert.equal(patch.status, 0, patch.stderr);
  const p = JSON.parse(patch.stdout);
  assert.deepEqual([p.rows, p.cols, p.width, p.height, p.text], [3, 3, 800, 600, "고양이"]);
  assert.equal(p.scores.flat().length, 9);
  const grid = run("classify", IMAGE, "--patch", "고양이", "--model", MODEL);
  assert.equal(grid.stdout.trim().split("\n").length, 5, grid.stdout);
});

test("query CLI errors: usage errors exit 2, missing index exits 1 with one line", () => {
  const noDb = run("search", "고양이");
  assert.equal(noDb.status, 2);
  assert.match(noDb.stderr, /--db FILE is required/);
  const missing = run("search", "고양이", "--db", join(work, "nope.db"));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.db: no such index \(create it with: koclip index DIR --db /);
  const oneLabel = run("classify", IMAGE, "--labels", "고양이", "--model", MODEL);
  assert.equal(oneLabel.status, 2);
  assert.match(oneLabel.stderr, /at least two labels/);
  const badK = run("search", "x", "--db", join(work, "json.db"), "--k", "0");
  assert.equal(badK.status, 2);
  assert.match(badK.stderr, /--k must be an integer >= 1/);
  const noDir = run("index", join(work, "nope"), "--model", MODEL);
  assert.equal(noDir.status, 1);
  assert.match(noDir.stderr, /nope: no such folder/);
});

test("--ann-threshold is recorded: the HNSW file is built at index time and later searches use it", () => {
  const db = join(work, "hnsw.db");
  const idx = run("index", photos, "--model", MODEL, "--db", db, "--ann-threshold", "10", "--quiet");
  assert.equal(idx.status, 0, idx.stderr);
  assert.ok(existsSync(`${db}.usearch`), "HNSW file written by koclip index");
  const c = Collection.open(db, { readonly: true });
  assert.equal(c.status().ann, "hnsw");
  c.close();
  const target = join(photos, "b", "img010.jpg");
  const img = run("search", "--image", target, "--db", db, "--k", "3", "--json");
  assert.equal(img.status, 0, img.stderr);
  const hits = JSON.parse(img.stdout).hits;
  assert.equal(hits[0].path, target);
  assert.ok(hits[0].score > 0.999);
});

// With the default model: the CLI's text→image and zero-shot answers for the scenario
// (the cat emoji among six Twemoji pictures). Ranking over all six is measured in server.test.ts.
const trained = rankingModelDir();
test("with a trained model: `koclip search 고양이` finds the cat first and `koclip classify` labels it 고양이", { skip: trained ? false : "no ranking model" }, async () => {
  const images = await emojiImages();
  const dir = join(work, "emoji-six");
  mkdirSync(dir, { recursive: true });
  for (const i of images) copyFileSync(i.from, join(dir, i.name));
  const db = join(work, "emoji-six.db");
  const idx = run("index", dir, "--db", db, "--model", trained!, "--quiet");
  assert.equal(idx.status, 0, idx.stderr);
  const search = run("search", "고양이", "--db", db, "--k", "3", "--json");
  assert.equal(search.status, 0, search.stderr);
  assert.equal(JSON.parse(search.stdout.trim().split("\n").pop()!).hits[0].path.split("/").pop(), "cat.png");
  const words = EMOJI_CASES.map((e) => e.word).join(",");
  const cls = run("classify", join(dir, "cat.png"), "--labels", words, "--model", trained!, "--json");
  assert.equal(cls.status, 0, cls.stderr);
  assert.equal(JSON.parse(cls.stdout.trim().split("\n").pop()!).results[0].predictions[0].label, "고양이");
});
