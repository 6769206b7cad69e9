// The HTTP API through app.inject, with koclip-tiny and a collection built by indexFolder from the
// image-processor fixtures: every route, answers equal to the library's, every validation error
// with the limit named, path traversal refused, the queue's 503, and no stack traces leaking.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { loadModel } from "../../src/models/load.js";
import type { PretrainedModel } from "../../src/models/pretrained.js";
import { buildServer } from "../../src/server/app.js";
import { DEFAULT_LIMITS } from "../../src/server/limits.js";
import type { ApiError, ClassifyResponse, EmbedResponse, PatchResponse, SearchResponse, StatusResponse } from "../../src/server/types.js";
import { classifyImages, KOREAN_TEMPLATES } from "../../src/tasks/zero_shot.js";
import { buildTestCollection, EMOJI_CASES, emojiImages, FIXTURE_IMAGES, multipart, rankingModelDir, TINY_MODEL, type FormValue, type TestCollection } from "./server_setup.js";

const image = (name: string) => ({ data: readFileSync(join(FIXTURE_IMAGES(), name)), filename: name, type: name.endsWith(".jpg") ? "image/jpeg" : "image/png" });

/** An error body: the fields we promise and nothing that looks like a stack or a server path. */
function assertCleanError(body: ApiError, code?: string): void {
  assert.equal(typeof body.error, "string");
  assert.equal(typeof body.message, "string");
  if (code) assert.equal(body.error, code, body.message);
  const text = JSON.stringify(body);
  assert.doesNotMatch(text, /\bat .+\(.+:\d+:\d+\)|stack|\.ts:\d|\.js:\d|node_modules/, `error leaks internals: ${text}`);
}

let model: PretrainedModel;
let tc: TestCollection;
let app: FastifyInstance;

before(async () => {
  model = await loadModel(TINY_MODEL());
  tc = await buildTestCollection(model);
  app = await buildServer({ model, collection: tc.collection, webRoot: false });
});

after(async () => {
  await app?.close();
  tc?.cleanup();
  model?.dispose();
});

describe("routes", () => {
  test("GET /api/status: model, collection, queue and limits", async () => {
    const res = await app.inject({ method: "GET", url: "/api/status" });
    assert.equal(res.statusCode, 200);
    const s = res.json() as StatusResponse;
    assert.equal(s.model.name, "model");
    assert.equal(s.model.embedDim, 16);
    assert.ok(s.collection);
    assert.equal(s.collection.images, 8); // 7 fixture images + escape.png
    assert.equal(s.collection.embedDim, 16);
    assert.equal(s.collection.root, "photos"); // the folder's name, not the server's path
    assert.equal(s.collection.dbFile, "index.db");
    assert.deepEqual(s.queue, { depth: 0, running: false, limit: DEFAULT_LIMITS.maxQueue, served: s.queue.served, rejected: 0, passes: s.queue.passes });
    assert.deepEqual(s.limits, DEFAULT_LIMITS);
    assert.ok(s.defaultLabels.length >= 3);
  });

  test("POST /api/search with JSON text: k hits, best first, with thumbnail URLs, equal to the library's search", async () => {
    const res = await app.inject({ method: "POST", url: "/api/search", payload: { text: "고양이 사진", k: 5 } });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as SearchResponse;
    assert.deepEqual(body.query, { kind: "text", text: "고양이 사진" });
    assert.equal(body.hits.length, 5);
    for (let i = 1; i < body.hits.length; i++) assert.ok(body.hits[i - 1]!.score >= body.hits[i]!.score);
    const [q] = await model.encodeTexts(["고양이 사진"]);
    const expected = tc.collection.search(q!, 5);
    assert.deepEqual(body.hits.map((h) => h.id), expected.map((h) => h.id));
    body.hits.forEach((h, i) => {
      assert.ok(Math.abs(h.score - expected[i]!.score) < 1e-5);
      assert.equal(h.thumbnailUrl, `/api/images/${h.id}`);
      assert.equal(h.fullUrl, `/api/images/${h.id}?full=1`);
      assert.ok(!h.path.startsWith("/"), `path relative to the root: ${h.path}`);
    });
    const dflt = (await app.inject({ method: "POST", url: "/api/search", payload: { text: "강아지" } })).json() as SearchResponse;
    assert.equal(dflt.k, 12);
    assert.equal(dflt.hits.length, 8);
  });

  test("POST /api/search with an uploaded image: an indexed image finds itself first (score ~1)", async () => {
    const form = await multipart([["image", image("tall_300x500.png")], ["k", "3"]]);
    const res = await app.inject({ method: "POST", url: "/api/search", ...form });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as SearchResponse;
    assert.deepEqual(body.query, { kind: "image", filename: "tall_300x500.png" });
    assert.equal(body.hits.length, 3);
    assert.equal(body.hits[0]!.path, "tall_300x500.png");
    assert.ok(body.hits[0]!.score > 0.9999, String(body.hits[0]!.score));
  });

  test("GET /api/images/:id: the thumbnail, and ?full=1 the original file", async () => {
    const id = tc.collection.search((await model.encodeImages([join(tc.root, "square_224.png")]))[0]!, 1)[0]!.id;
    const thumb = await app.inject({ method: "GET", url: `/api/images/${id}` });
    assert.equal(thumb.statusCode, 200);
    assert.match(String(thumb.headers["content-type"]), /^image\/(jpeg|png|webp)/);
    assert.deepEqual(thumb.rawPayload, tc.collection.thumbnail(id));
    const full = await app.inject({ method: "GET", url: `/api/images/${id}?full=1` });
    assert.equal(full.statusCode, 200);
    assert.equal(full.headers["content-type"], "image/png");
    assert.deepEqual(full.rawPayload, readFileSync(join(FIXTURE_IMAGES(), "square_224.png")));
  });

  test("POST /api/classify: labels best first with softmax probabilities, equal to classifyImages with the Korean templates", async () => {
    const labels = ["고양이", "강아지", "자동차"];
    const form = await multipart([["image", image("photo_640x480.png")], ...labels.map((l): [string, string] => ["labels", l])]);
    const res = await app.inject({ method: "POST", url: "/api/classify", ...form });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as ClassifyResponse;
    assert.deepEqual(body.templates, [...KOREAN_TEMPLATES]);
    const [expected] = await classifyImages(model, [join(FIXTURE_IMAGES(), "photo_640x480.png")], labels);
    assert.deepEqual(body.labels.map((l) => l.label), expected!.map((l) => l.label));
    body.labels.forEach((l, i) => assert.ok(Math.abs(l.probability - expected![i]!.probability) < 1e-5));
    assert.ok(Math.abs(body.labels.reduce((s, l) => s + l.probability, 0) - 1) < 1e-5);
    // One label and custom templates are accepted too.
    const one = await multipart([["image", image("photo_640x480.png")], ["labels", "고양이"], ["templates", "{} 사진"]]);
    const r1 = (await app.inject({ method: "POST", url: "/api/classify", ...one })).json() as ClassifyResponse;
    assert.deepEqual(r1.templates, ["{} 사진"]);
    assert.equal(r1.labels[0]!.probability, 1);
  });

  test("POST /api/embed: JSON texts, and multipart texts + images, equal to the library's embeddings", async () => {
    const json = await app.inject({ method: "POST", url: "/api/embed", payload: { texts: ["고양이", "바닷가의 강아지"] } });
    assert.equal(json.statusCode, 200, json.body);
    const body = json.json() as EmbedResponse;
    assert.equal(body.embedDim, 16);
    const expected = await model.encodeTexts(["고양이", "바닷가의 강아지"]);
    body.texts.forEach((t, i) => t.embedding.forEach((v, k) => assert.ok(Math.abs(v - expected[i]![k]!) < 1e-6)));
    assert.deepEqual(body.images, []);
    const form = await multipart([["texts", "고양이"], ["images", image("gray_256.png")], ["images", image("photo_800x600.jpg")]]);
    const mp = (await app.inject({ method: "POST", url: "/api/embed", ...form })).json() as EmbedResponse;
    assert.deepEqual(mp.images.map((i) => i.filename), ["gray_256.png", "photo_800x600.jpg"]);
    const imgs = await model.encodeImages(["gray_256.png", "photo_800x600.jpg"].map((n) => join(FIXTURE_IMAGES(), n)));
    mp.images.forEach((img, i) => img.embedding.forEach((v, k) => assert.ok(Math.abs(v - imgs[i]![k]!) < 1e-6)));
    assert.equal(mp.texts.length, 1);
  });

  test("POST /api/patch: a rows × cols grid of scores and the image's size", async () => {
    const form = await multipart([["image", image("photo_640x480.png")], ["text", "고양이"], ["grid", "3"]]);
    const res = await app.inject({ method: "POST", url: "/api/patch", ...form });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as PatchResponse;
    assert.equal(body.rows, 3);
    assert.equal(body.cols, 3);
    assert.equal(body.scores.length, 3);
    body.scores.forEach((row) => {
      assert.equal(row.length, 3);
      row.forEach((s) => assert.ok(Number.isFinite(s) && Math.abs(s) <= 1 + 1e-6));
    });
    assert.deepEqual([body.width, body.height], [640, 480]);
    const dflt = (await app.inject({ method: "POST", url: "/api/patch", ...(await multipart([["image", image("photo_640x480.png")], ["text", "눈"]])) })).json() as PatchResponse;
    assert.equal(dflt.rows, 4);
  });
});

describe("validation and errors", () => {
  const post = (url: string, payload: unknown) => app.inject({ method: "POST", url, payload: payload as object });

  test("bad JSON, a missing field, a wrong type and an unknown field are 400s saying what is wrong", async () => {
    const bad = await app.inject({ method: "POST", url: "/api/search", payload: '{"text": "고양', headers: { "content-type": "application/json" } });
    assert.equal(bad.statusCode, 400);
    assertCleanError(bad.json(), "bad_json");
    const missing = await post("/api/search", { k: 3 });
    assert.equal(missing.statusCode, 400);
    assertCleanError(missing.json(), "invalid_request");
    assert.match(missing.json().message, /body must have required property 'text'/);
    const wrong = await post("/api/search", { text: "고양이", k: "many" });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.json().message, /body\/k must be integer/);
    const extra = await post("/api/search", { text: "고양이", limit: 3 });
    assert.equal(extra.statusCode, 400);
    assert.match(extra.json().message, /must NOT have additional properties/);
    const empty = await post("/api/embed", { texts: [] });
    assert.equal(empty.statusCode, 400);
    const noBody = await app.inject({ method: "POST", url: "/api/search" });
    assert.equal(noBody.statusCode, 400);
    assertCleanError(noBody.json());
    const text = await app.inject({ method: "POST", url: "/api/search", payload: "고양이", headers: { "content-type": "text/plain" } });
    assert.equal(text.statusCode, 415);
    assertCleanError(text.json(), "unsupported_media_type");
    const xml = await app.inject({ method: "POST", url: "/api/search", payload: "<a/>", headers: { "content-type": "application/xml" } });
    assert.equal(xml.statusCode, 415);
    assertCleanError(xml.json(), "unsupported_media_type");
  });

  test("limits on text length, k, batch size and label count are 400s naming the limit", async () => {
    const long = await post("/api/search", { text: "가".repeat(DEFAULT_LIMITS.maxTextLength + 1) });
    assert.equal(long.statusCode, 400);
    const lb = long.json() as ApiError;
    assertCleanError(lb, "limit_exceeded");
    assert.deepEqual(lb.limit, { name: "maxTextLength", value: 200 });
    assert.match(lb.message, /body\/text must NOT have more than 200 characters; over the limit maxTextLength = 200/);
    const bigK = (await post("/api/search", { text: "고양이", k: 101 })).json() as ApiError;
    assert.deepEqual(bigK.limit, { name: "maxK", value: 100 });
    const batch = (await post("/api/embed", { texts: Array(33).fill("고양이") })).json() as ApiError;
    assert.deepEqual(batch.limit, { name: "maxBatch", value: 32 });
    const labels = await multipart([["image", image("square_224.png")], ...Array.from({ length: 51 }, (_, i): [string, string] => ["labels", `라벨${i}`])]);
    const manyLabels = await app.inject({ method: "POST", url: "/api/classify", ...labels });
    assert.equal(manyLabels.statusCode, 400);
    assert.deepEqual((manyLabels.json() as ApiError).limit, { name: "maxLabels", value: 50 });
    const longLabel = await multipart([["image", image("square_224.png")], ["labels", "x".repeat(201)]]);
    assert.deepEqual(((await app.inject({ method: "POST", url: "/api/classify", ...longLabel })).json() as ApiError).limit?.name, "maxTextLength");
    const noPlaceholder = await multipart([["image", image("square_224.png")], ["labels", "고양이"], ["templates", "사진"]]);
    const np = await app.inject({ method: "POST", url: "/api/classify", ...noPlaceholder });
    assert.equal(np.statusCode, 400);
    assert.match(np.json().message, /templates\/0 must match pattern/);
  });

  test("uploads: too large (413 maxUploadBytes), too many pixels (413 maxPixels), not an image, text where a file belongs, missing image", async () => {
    const small = await buildServer({ model, collection: tc.collection, webRoot: false, limits: { maxUploadBytes: 100_000 } });
    try {
      const big = await small.inject({ method: "POST", url: "/api/search", ...(await multipart([["image", image("photo_800x600.jpg")]])) });
      assert.equal(big.statusCode, 413);
      const bb = big.json() as ApiError;
      assertCleanError(bb, "limit_exceeded");
      assert.deepEqual(bb.limit, { name: "maxUploadBytes", value: 100_000 });
      assert.match(bb.message, /an uploaded file is too large; over the limit maxUploadBytes = 100000/);
      const embed = await small.inject({ method: "POST", url: "/api/embed", ...(await multipart([["images", image("small_100x60.png")], ["images", image("tall_300x500.png")]])) });
      assert.equal(embed.statusCode, 413);
    } finally {
      await small.close();
    }
    const pixelsOnly = await buildServer({ model, collection: tc.collection, webRoot: false, limits: { maxPixels: 50_000 } });
    try {
      const r = await pixelsOnly.inject({ method: "POST", url: "/api/search", ...(await multipart([["image", image("square_224.png")]])) });
      assert.equal(r.statusCode, 413);
      const b = r.json() as ApiError;
      assert.deepEqual(b.limit, { name: "maxPixels", value: 50_000 });
      assert.match(b.message, /image \(square_224\.png\) is 224x224 = 50176 pixels; over the limit maxPixels = 50000/);
      for (const url of ["/api/classify", "/api/patch"]) {
        const form = await multipart([["image", image("gray_256.png")], ["labels", "고양이"], ["text", "고양이"]].filter(([k]) => k !== (url === "/api/patch" ? "labels" : "text")) as [string, FormValue][]);
        const r2 = await pixelsOnly.inject({ method: "POST", url, ...form });
        assert.equal(r2.statusCode, 413, `${url}: ${r2.body}`);
        assert.equal((r2.json() as ApiError).limit?.name, "maxPixels");
      }
      const many = await multipart([["images", image("small_100x60.png")], ["images", image("gray_256.png")]]);
      assert.equal((await pixelsOnly.inject({ method: "POST", url: "/api/embed", ...many })).json().message, "images[1] (gray_256.png) is 256x256 = 65536 pixels; over the limit maxPixels = 50000");
    } finally {
      await pixelsOnly.close();
    }
    const notImage = await app.inject({ method: "POST", url: "/api/search", ...(await multipart([["image", { data: Buffer.from("not an image at all"), filename: "x.png" }]])) });
    assert.equal(notImage.statusCode, 400);
    assertCleanError(notImage.json(), "bad_image");
    const textField = await app.inject({ method: "POST", url: "/api/classify", ...(await multipart([["image", "cat.png"], ["labels", "고양이"]])) });
    assert.equal(textField.statusCode, 400);
    assert.match(textField.json().message, /'image' must be a file upload/);
    const noImage = await app.inject({ method: "POST", url: "/api/classify", ...(await multipart([["labels", "고양이"]])) });
    assert.equal(noImage.statusCode, 400);
    assert.match(noImage.json().message, /required property 'image'/);
    const json = await post("/api/classify", { labels: ["고양이"] });
    assert.equal(json.statusCode, 400);
    assertCleanError(json.json(), "image_required");
    const tiny = await app.inject({ method: "POST", url: "/api/patch", ...(await multipart([["image", image("small_100x60.png")], ["text", "고양이"], ["grid", "17"]])) });
    assert.equal(tiny.statusCode, 400);
  });

  test("images: unknown id 404, non-numeric id 400, traversal in the id 400/404, a symlink out of the root 403 on ?full=1", async () => {
    const unknown = await app.inject({ method: "GET", url: "/api/images/99999" });
    assert.equal(unknown.statusCode, 404);
    assertCleanError(unknown.json(), "unknown_image");
    const word = await app.inject({ method: "GET", url: "/api/images/abc" });
    assert.equal(word.statusCode, 400);
    assertCleanError(word.json());
    for (const url of ["/api/images/..%2F..%2Fetc%2Fpasswd?full=1", "/api/images/../../etc/passwd", "/api/images/1%2F..%2F..%2Fetc%2Fpasswd?full=1"]) {
      const r = await app.inject({ method: "GET", url });
      assert.ok(r.statusCode === 400 || r.statusCode === 404, `${url}: ${r.statusCode}`);
      assert.doesNotMatch(r.body, /root:/);
    }
    const badQuery = await app.inject({ method: "GET", url: "/api/images/1?full=../../etc/passwd" });
    assert.equal(badQuery.statusCode, 400);
    const escapeHit = tc.collection.list().find((i) => i.relPath === "escape.png");
    assert.ok(escapeHit, "indexFolder followed the symlink escape.png");
    const thumb = await app.inject({ method: "GET", url: `/api/images/${escapeHit.id}` });
    assert.equal(thumb.statusCode, 200);
    const full = await app.inject({ method: "GET", url: `/api/images/${escapeHit.id}?full=1` });
    assert.equal(full.statusCode, 403);
    assertCleanError(full.json(), "outside_root");
    assert.ok(!full.rawPayload.equals(readFileSync(tc.outside)));
  });

  test("Host: loopback names always, other names only when allowed (allowedHosts / --allow-host)", async () => {
    const named = await buildServer({ model, collection: tc.collection, webRoot: false, allowedHosts: ["Photos.LAN"] });
    try {
      for (const host of ["photos.lan", "PHOTOS.lan:3000", "localhost:3000", "127.0.0.1"]) {
        assert.equal((await named.inject({ method: "GET", url: "/api/status", headers: { host } })).statusCode, 200, host);
      }
      const other = await named.inject({ method: "GET", url: "/api/status", headers: { host: "evil.example" } });
      assert.equal(other.statusCode, 403);
      assertCleanError(other.json(), "host_not_allowed");
      assert.equal((await app.inject({ method: "GET", url: "/api/status", headers: { host: "photos.lan" } })).statusCode, 403, "not allowed by default");
    } finally {
      await named.close();
    }
  });

  test("unknown routes are JSON 404s; the page is not served when webRoot is false", async () => {
    const r = await app.inject({ method: "GET", url: "/api/nope" });
    assert.equal(r.statusCode, 404);
    assertCleanError(r.json(), "not_found");
    const m = await app.inject({ method: "DELETE", url: "/api/status" });
    assert.equal(m.statusCode, 404);
  });

  test("a full queue answers 503 at once, naming maxQueue; every other request is answered", async () => {
    const busy = await buildServer({ model, collection: tc.collection, webRoot: false, limits: { maxQueue: 2 } });
    try {
      const form = await multipart([["image", image("photo_640x480.png")], ["labels", "고양이"], ["labels", "강아지"]]);
      const replies = await Promise.all(Array.from({ length: 12 }, () => busy.inject({ method: "POST", url: "/api/classify", ...form })));
      const codes = replies.map((r) => r.statusCode);
      assert.ok(codes.includes(503), `some refused: ${codes}`);
      assert.ok(codes.includes(200), `some served: ${codes}`);
      assert.ok(codes.every((c) => c === 200 || c === 503), String(codes));
      const refused = replies.find((r) => r.statusCode === 503)!;
      assert.equal(refused.headers["retry-after"], "1");
      const body = refused.json() as ApiError;
      assertCleanError(body, "limit_exceeded");
      assert.deepEqual(body.limit, { name: "maxQueue", value: 2 });
      const status = (await busy.inject({ method: "GET", url: "/api/status" })).json() as StatusResponse;
      assert.equal(status.queue.depth, 0);
      assert.equal(status.queue.rejected, codes.filter((c) => c === 503).length);
    } finally {
      await busy.close();
    }
  });

  test("an internal failure is a bare 500 without the error's message or stack", async () => {
    const broken = {
      ...tc.collection,
      dbFile: tc.collection.dbFile,
      status: () => tc.collection.status(),
      search: () => {
        throw new Error("secret failure at /home/me/src/index/collection.ts:120:7");
      },
    } as unknown as typeof tc.collection;
    const b = await buildServer({ model, collection: broken, webRoot: false });
    try {
      const r = await b.inject({ method: "POST", url: "/api/search", payload: { text: "고양이" } });
      assert.equal(r.statusCode, 500);
      assertCleanError(r.json(), "internal");
      assert.doesNotMatch(r.body, /secret/);
    } finally {
      await b.close();
    }
  });

  test("without a collection, search and images answer 409; the rest works", async () => {
    const bare = await buildServer({ model, webRoot: false });
    try {
      const s = await bare.inject({ method: "POST", url: "/api/search", payload: { text: "고양이" } });
      assert.equal(s.statusCode, 409);
      assertCleanError(s.json(), "no_collection");
      assert.equal((await bare.inject({ method: "GET", url: "/api/images/1" })).statusCode, 409);
      const st = (await bare.inject({ method: "GET", url: "/api/status" })).json() as StatusResponse;
      assert.equal(st.collection, null);
      assert.equal((await bare.inject({ method: "POST", url: "/api/embed", payload: { texts: ["고양이"] } })).statusCode, 200);
    } finally {
      await bare.close();
    }
  });
});

test("the page and its files are served at /", async () => {
  const web = await buildServer({ model, collection: tc.collection });
  try {
    const index = await web.inject({ method: "GET", url: "/" });
    assert.equal(index.statusCode, 200);
    assert.match(String(index.headers["content-type"]), /text\/html/);
    assert.match(index.body, /<html lang="ko">/);
    for (const f of ["/main.js", "/style.css"]) assert.equal((await web.inject({ method: "GET", url: f })).statusCode, 200, f);
    const traversal = await web.inject({ method: "GET", url: "/..%2Fpackage.json" });
    assert.ok(traversal.statusCode === 403 || traversal.statusCode === 404, String(traversal.statusCode));
  } finally {
    await web.close();
  }
});

const rankingModel = rankingModelDir();

test("with a trained model: Korean words find their emoji first and emoji get their word on top, far above chance", { skip: rankingModel ? false : "no ranking model (see the printed reason)" }, async () => {
  const m = await loadModel(rankingModel!);
  const images = await emojiImages();
  const c = await buildTestCollection(m, images);
  const a = await buildServer({ model: m, collection: c.collection, webRoot: false });
  try {
    const words = EMOJI_CASES.map((e) => e.word);
    const missed: string[] = [];
    let searchHits = 0, labelHits = 0;
    for (const e of EMOJI_CASES) {
      const hits = ((await a.inject({ method: "POST", url: "/api/search", payload: { text: e.word, k: 3 } })).json() as SearchResponse).hits;
      if (hits[0]!.path === e.name) searchHits++;
      else missed.push(`“${e.word}” → ${hits.map((h) => h.path)}`);
      const from = images.find((i) => i.name === e.name)!.from;
      const form = await multipart([["image", { data: readFileSync(from), filename: e.name, type: "image/png" }], ...words.map((w): [string, string] => ["labels", w])]);
      const labels = ((await a.inject({ method: "POST", url: "/api/classify", ...form })).json() as ClassifyResponse).labels;
      if (labels[0]!.label === e.word) labelHits++;
      else missed.push(`${e.name} → ${labels.map((l) => l.label)}`);
    }
    console.log(`ranking with ${rankingModel}: search ${searchHits}/${EMOJI_CASES.length}, labels ${labelHits}/${EMOJI_CASES.length}; missed: ${missed.join("; ")}`);
    // Chance is 1 in 6 for each; koclip-emoji v1 got 5/6 and 4/6 (🍎 read as ❤️, 🌸 as 🐶), v2 gets 6/6 and 5/6 (🍎 reads as 하트).
    assert.ok(searchHits >= 4, `search: ${searchHits}/6 first; ${missed.join("; ")}`);
    assert.ok(labelHits >= 4, `labels: ${labelHits}/6 on top; ${missed.join("; ")}`);
  } finally {
    await a.close();
    c.cleanup();
    m.dispose();
  }
});
