// Models by Hugging Face id: from a cache laid out as huggingface_hub does, and downloaded through
// the real @huggingface/hub client from a loopback server that answers as the Hub does.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadModel, type LoadOptions } from "../../src/index.js";
import { modelLabel, parseRepoRef, resolveModelPath } from "../../src/models/hub.js";
import { resolveTrainConfig } from "../../src/train/config.js";
import { initModel } from "../../src/train/init.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";
import { commitOf, layOutSnapshot, startFakeHub } from "../helpers/hub.js";

const KOCLIP_TINY = fixture("koclip-tiny", "model");
const CLIP_TINY = fixture("clip-tiny", "model");
const MCLIP_TINY = fixture("mclip-tiny", "model");
const TEXTS = ["고양이", "바닷가의 강아지"];
const temps: string[] = [];
after(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "koclip-hub-"));
  temps.push(d);
  return d;
}

async function textEmbeddings(spec: string, opts: LoadOptions = {}): Promise<{ rows: Float32Array[]; dir: string }> {
  const model = await loadModel(spec, opts);
  try {
    return { rows: await model.encodeTexts(TEXTS), dir: model.dir };
  } finally {
    model.dispose();
  }
}

const expected = new Map<string, Float32Array[]>();
async function reference(dir: string): Promise<Float32Array[]> {
  if (!expected.has(dir)) expected.set(dir, (await textEmbeddings(dir)).rows);
  return expected.get(dir)!;
}

test("parseRepoRef: ORG/NAME and ORG/NAME@REV; paths and odd names are not ids", () => {
  assert.deepEqual(parseRepoRef("koclip/koclip-base-pt"), { repo: "koclip/koclip-base-pt", revision: "main" });
  assert.deepEqual(parseRepoRef("openai/clip-vit-base-patch32@v1.0"), { repo: "openai/clip-vit-base-patch32", revision: "v1.0" });
  assert.deepEqual(parseRepoRef("a/b@refs/pr/1"), { repo: "a/b", revision: "refs/pr/1" });
  for (const notId of ["/abs/dir", "./a/b", "a/b/c", "a", "../x", "a/b@", "a--b/c", "-a/b", "a/b@../../etc", "a/b@x//y"]) assert.equal(parseRepoRef(notId), null, notId);
});

test("an id loads from the cache through refs/main, a pinned commit or a tag, offline", async () => {
  const cache = tempDir();
  const old = commitOf("old");
  const head = commitOf("head");
  const oldDir = layOutSnapshot(cache, "koclip/tiny", old, KOCLIP_TINY, { refs: ["v1"] });
  const headDir = layOutSnapshot(cache, "koclip/tiny", head, CLIP_TINY, { refs: ["main"] });
  assert.ok(lstatSync(join(headDir, "model.safetensors")).isSymbolicLink());
  const hub = { cacheDir: cache, offline: true };
  const main = await textEmbeddings("koclip/tiny", { hub });
  assert.equal(main.dir, headDir);
  assert.equal(modelLabel(main.dir), "koclip/tiny");
  assert.equal(modelLabel(KOCLIP_TINY), "model");
  assert.deepEqual(main.rows, await reference(CLIP_TINY));
  for (const spec of [`koclip/tiny@${old}`, "koclip/tiny@v1"]) {
    const pinned = await textEmbeddings(spec, { hub });
    assert.equal(pinned.dir, oldDir, spec);
    assert.deepEqual(pinned.rows, await reference(KOCLIP_TINY), spec);
  }
});

test("M-CLIP pairs with a CLIP image tower named by id", async () => {
  const cache = tempDir();
  layOutSnapshot(cache, "M-CLIP/tiny", commitOf("m"), MCLIP_TINY, { refs: ["main"] });
  const clipDir = layOutSnapshot(cache, "openai/clip-tiny", commitOf("c"), CLIP_TINY, { refs: ["main"] });
  const hub = { cacheDir: cache, offline: true };
  const byId = await loadModel("M-CLIP/tiny", { hub, vision: "openai/clip-tiny" });
  const byDir = await loadModel(MCLIP_TINY, { vision: CLIP_TINY });
  try {
    const image = fixture("image-processor", "images", "photo_800x600.jpg");
    assert.deepEqual(await byId.encodeImages([image]), await byDir.encodeImages([image]));
    assert.deepEqual(await byId.encodeTexts(TEXTS), await byDir.encodeTexts(TEXTS));
    assert.ok(byId.dir.includes("models--M-CLIP--tiny"), byId.dir);
    assert.ok(clipDir.includes("models--openai--clip-tiny"));
  } finally {
    byId.dispose();
    byDir.dispose();
  }
});

test("training joins towers named by id (from HF_HUB_CACHE, offline) as it joins folders", async () => {
  const cache = tempDir();
  layOutSnapshot(cache, "openai/clip-tiny", commitOf("v"), CLIP_TINY, { refs: ["main"] });
  layOutSnapshot(cache, "klue/tiny", commitOf("t"), KOCLIP_TINY, { refs: ["main"] });
  const saved = { cache: process.env.HF_HUB_CACHE, offline: process.env.HF_HUB_OFFLINE };
  process.env.HF_HUB_CACHE = cache;
  process.env.HF_HUB_OFFLINE = "1";
  const base = { data: "unused.jsonl", out: join(cache, "out"), seed: 3 };
  try {
    const byId = await initModel(resolveTrainConfig({ ...base, vision: "openai/clip-tiny", text: "klue/tiny" }));
    const byDir = await initModel(resolveTrainConfig({ ...base, vision: CLIP_TINY, text: KOCLIP_TINY }));
    const towers = [...byDir.encoder.store.vars.keys()].filter((n) => n.startsWith("vision_model.") || n.startsWith("text_model.encoder."));
    assert.ok(towers.length > 10);
    for (const name of towers) assert.deepEqual(byId.encoder.store.vars.get(name)!.toFloat32Array(), byDir.encoder.store.vars.get(name)!.toFloat32Array(), name);
    byId.dispose();
    byDir.dispose();
  } finally {
    for (const [k, v] of [["HF_HUB_CACHE", saved.cache], ["HF_HUB_OFFLINE", saved.offline]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test("a missing cached file is a one-line error naming the repo and the file", async () => {
  const cache = tempDir();
  const hub = { cacheDir: cache, offline: true };
  layOutSnapshot(cache, "koclip/no-weights", commitOf("a"), KOCLIP_TINY, { refs: ["main"], files: ["config.json", "tokenizer.json", "tokenizer_config.json"] });
  await assert.rejects(loadModel("koclip/no-weights", { hub }), /^Error: koclip\/no-weights@main in the Hugging Face cache \(.*\): no weights file \(looked for model\.safetensors, .*\), and HF_HUB_OFFLINE=1 forbids downloading it$/);
  layOutSnapshot(cache, "koclip/no-tokenizer", commitOf("b"), KOCLIP_TINY, { refs: ["main"], files: ["config.json", "model.safetensors"] });
  await assert.rejects(loadModel("koclip/no-tokenizer", { hub }), /^ConfigError: koclip\/no-tokenizer: .*models--koclip--no-tokenizer\/snapshots\/[0-9a-f]{40}\/tokenizer\.json: not found/);
  await assert.rejects(loadModel("koclip/absent@v2", { hub }), (err: Error) => {
    assert.equal(err.message, `koclip/absent@v2: no such folder, and koclip/absent@v2 is not in the Hugging Face cache ${cache} (HF_HUB_OFFLINE=1 forbids downloading it)`);
    return true;
  });
  // A ref whose snapshot is gone (deleted by hand) is not in the cache either.
  layOutSnapshot(cache, "koclip/dangling", commitOf("c"), KOCLIP_TINY, { refs: ["main"] });
  rmSync(join(cache, "models--koclip--dangling", "blobs"), { recursive: true });
  await assert.rejects(loadModel("koclip/dangling", { hub }), /koclip\/dangling@main in the Hugging Face cache .*: config\.json is missing/);
});

test("download: the @huggingface/hub client fills the cache in huggingface_hub's layout; then it loads offline", async () => {
  const commit = commitOf("served");
  const server = await startFakeHub([{ repo: "koclip/served", commit, dir: KOCLIP_TINY, token: "hf_test_token" }]);
  const cache = tempDir();
  try {
    await assert.rejects(loadModel("koclip/served", { hub: { cacheDir: cache, endpoint: server.url, progress: false } }), /^Error: koclip\/served@main: not a local folder, and the Hub at http:\/\/127\.0\.0\.1:\d+ does not give it \(Invalid username or password\./);
    const hub = { cacheDir: cache, endpoint: server.url, token: "hf_test_token", progress: false as const };
    const got = await textEmbeddings("koclip/served", { hub });
    assert.deepEqual(got.rows, await reference(KOCLIP_TINY));
    const repoDir = join(cache, "models--koclip--served");
    assert.equal(got.dir, join(repoDir, "snapshots", commit));
    assert.equal(readFileSync(join(repoDir, "refs", "main"), "utf8"), commit);
    const weights = readFileSync(join(KOCLIP_TINY, "model.safetensors"));
    assert.equal(readlinkSync(join(got.dir, "model.safetensors")), `../../blobs/${createHash("sha256").update(weights).digest("hex")}`);
    assert.deepEqual(readdirSync(got.dir).sort(), readdirSync(KOCLIP_TINY).sort());
    assert.ok(!readdirSync(join(repoDir, "blobs")).some((b) => b.endsWith(".incomplete")));
    const requests = server.log.length;
    assert.deepEqual((await textEmbeddings("koclip/served", { hub: { cacheDir: cache, offline: true } })).rows, got.rows);
    assert.deepEqual((await textEmbeddings(`koclip/served@${commit}`, { hub })).rows, got.rows);
    assert.equal(server.log.length, requests, "a cached model makes no requests");
  } finally {
    await server.close();
  }
});

test("a download shows its progress: one line per tenth of a large file on a pipe", async () => {
  const emoji = join(REPO_ROOT, "models", "koclip-emoji");
  const server = await startFakeHub([{ repo: "koclip/koclip-emoji", commit: commitOf("emoji"), dir: emoji }]);
  const lines: string[] = [];
  try {
    const dir = await resolveModelPath("koclip/koclip-emoji", { cacheDir: tempDir(), endpoint: server.url, progress: { write: (s: string) => lines.push(s) } });
    assert.deepEqual(readFileSync(join(dir, "model.safetensors")), readFileSync(join(emoji, "model.safetensors")));
  } finally {
    await server.close();
  }
  const mb = (statSync(join(emoji, "model.safetensors")).size / 1e6).toFixed(1);
  assert.equal(lines.length, 10, lines.join(""));
  lines.forEach((l) => assert.match(l, new RegExp(`^koclip/koclip-emoji@main model\\.safetensors \\d+\\.\\d/${mb} MB \\(\\d+\\.\\d%\\) [\\d.]+ MB/s\\n$`)));
  assert.match(lines.at(-1)!, new RegExp(`${mb}/${mb} MB \\(100\\.0%\\)`));
});

test("an interrupted download leaves the cache usable and resumes with a Range request", async () => {
  const commit = commitOf("flaky");
  const server = await startFakeHub([{ repo: "koclip/flaky", commit, dir: KOCLIP_TINY }]);
  const cache = tempDir();
  const hub = { cacheDir: cache, endpoint: server.url, progress: false as const };
  const repoDir = join(cache, "models--koclip--flaky");
  try {
    server.cutNext("model.safetensors", 4096);
    await assert.rejects(loadModel("koclip/flaky", { hub }), /^Error: koclip\/flaky@main: model\.safetensors: download interrupted at 4096 of \d+ bytes .*run again to resume$/);
    assert.ok(!existsSync(join(repoDir, "refs", "main")), "no ref to a half-written snapshot");
    assert.ok(!existsSync(join(repoDir, "snapshots", commit, "model.safetensors")), "no link to a partial blob");
    const partial = readdirSync(join(repoDir, "blobs")).filter((b) => b.endsWith(".incomplete"));
    assert.equal(partial.length, 1);
    assert.equal(statSync(join(repoDir, "blobs", partial[0]!)).size, 4096);
    await assert.rejects(loadModel("koclip/flaky", { hub: { cacheDir: cache, offline: true } }), /^Error: koclip\/flaky: no such folder, and koclip\/flaky@main is not in the Hugging Face cache/);
    const resumedFrom = server.log.length;
    const got = await textEmbeddings("koclip/flaky", { hub });
    assert.deepEqual(got.rows, await reference(KOCLIP_TINY));
    const weightGets = server.log.slice(resumedFrom).filter((l) => l.includes("/model.safetensors") && !l.endsWith("bytes=0-0"));
    assert.deepEqual(weightGets.map((l) => l.replace(/.* /, "")), [`bytes=4096-${statSync(join(KOCLIP_TINY, "model.safetensors")).size - 1}`]);
  } finally {
    await server.close();
  }
});

test("koclip embed --model ORG/NAME with HF_HUB_OFFLINE=1 prints what --model SNAPSHOT prints", () => {
  const home = tempDir();
  const snapshot = layOutSnapshot(join(home, "hub"), "koclip/koclip-tiny", commitOf("cli"), KOCLIP_TINY, { refs: ["main"] });
  const env = { ...process.env, HF_HOME: home, HF_HUB_OFFLINE: "1", HF_HUB_CACHE: undefined, HF_ENDPOINT: "http://127.0.0.1:9" };
  const run = (model: string) => spawnSync(join(REPO_ROOT, "bin", "koclip"), ["embed", "--model", model, "--text", "고양이"], { encoding: "utf8", env });
  const byId = run("koclip/koclip-tiny");
  assert.equal(byId.status, 0, byId.stderr);
  const bySnapshot = run(snapshot);
  assert.equal(bySnapshot.status, 0, bySnapshot.stderr);
  assert.equal(byId.stdout, bySnapshot.stdout);
  assert.equal(JSON.parse(byId.stdout).embedding.length, 16);
  const absent = run("koclip/not-cached");
  assert.equal(absent.status, 1);
  assert.equal(absent.stderr.trim(), `koclip embed: koclip/not-cached: no such folder, and koclip/not-cached@main is not in the Hugging Face cache ${join(home, "hub")} (HF_HUB_OFFLINE=1 forbids downloading it)`);
});
