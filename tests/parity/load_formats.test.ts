// loadModel across formats and families: the same weights in safetensors, sharded safetensors,
// PyTorch .bin and Flax msgpack give identical embeddings; the public API reproduces the golden
// embeddings; hostile or broken folders fail with one line naming the file and the problem.
import assert from "node:assert/strict";
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readSafetensors, writeFlaxMsgpack, writeSafetensors, writeTorchBin, writeZip, type RawTensor } from "../../src/formats/index.js";
import { toFlaxLayout } from "../../src/models/flax_layout.js";
import { loadModel, saveModel, type PretrainedModel } from "../../src/index.js";
import { fixture } from "../helpers/fixtures.js";
import { loadGolden } from "../helpers/golden.js";

const work = mkdtempSync(join(tmpdir(), "koclip-formats-"));
after(() => rmSync(work, { recursive: true, force: true }));

const TINY = fixture("koclip-tiny", "model");
const TEXTS = ["고양이 사진", "a photo of a dog", ""];
const IMAGES = [fixture("image-processor", "images", "photo_640x480.png"), fixture("image-processor", "images", "rgba_320x240.png")];

/** A model folder with the fixture's config and tokenizer and the given weight file. */
function folder(name: string, write: (dir: string) => void, config = JSON.parse(readFileSync(join(TINY, "config.json"), "utf8"))): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(TINY, f), join(dir, f));
  write(dir);
  return dir;
}

async function embeddings(dir: string): Promise<{ t: Float32Array[]; i: Float32Array[] }> {
  const m = await loadModel(dir);
  try {
    return { t: await m.encodeTexts(TEXTS), i: await m.encodeImages(IMAGES) };
  } finally {
    m.dispose();
  }
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((row, r) => row.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - b[r]![k]!)))));
  return worst;
}

const weights = readSafetensors(join(TINY, "model.safetensors"));

test("safetensors, sharded safetensors, .bin and Flax msgpack give identical embeddings", async () => {
  const reference = await embeddings(TINY);
  const shard = folder("sharded", (dir) => {
    const names = [...weights.keys()];
    const half = Math.ceil(names.length / 2);
    const parts = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    parts.forEach((part, k) => {
      const file = `model-0000${k + 1}-of-00002.safetensors`;
      writeSafetensors(join(dir, file), new Map(part.map((n) => [n, weights.get(n)!] as [string, RawTensor])));
      for (const n of part) weightMap[n] = file;
    });
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  });
  const bin = folder("bin", (dir) => writeTorchBin(join(dir, "pytorch_model.bin"), weights));
  const flax = folder("flax", (dir) => writeFlaxMsgpack(join(dir, "flax_model.msgpack"), toFlaxLayout(weights)));
  for (const [name, dir] of [["sharded", shard], ["bin", bin], ["flax", flax]] as const) {
    const got = await embeddings(dir);
    assert.equal(maxDiff(got.t, reference.t), 0, `${name}: text embeddings`);
    assert.equal(maxDiff(got.i, reference.i), 0, `${name}: image embeddings`);
  }
});

test("the Flax layout transposes kernels and renames scales and embeddings", () => {
  const flax = toFlaxLayout(weights);
  const q = flax.get("text_model.encoder.layer.0.attention.self.query.kernel")!;
  assert.deepEqual(q.shape, [...weights.get("text_model.encoder.layer.0.attention.self.query.weight")!.shape].reverse());
  assert.ok(flax.has("vision_model.vision_model.embeddings.patch_embedding.kernel"));
  assert.deepEqual(flax.get("vision_model.vision_model.embeddings.patch_embedding.kernel")!.shape.slice(2), [3, 32]); // HWIO
  assert.ok(flax.has("text_model.embeddings.LayerNorm.scale"));
  assert.ok(flax.has("text_model.embeddings.word_embeddings.embedding"));
});

test("encodeTexts / encodeImages reproduce the golden embeddings through the public API", async () => {
  const g = loadGolden("koclip-tiny");
  const model = await loadModel(TINY);
  const texts = await model.encodeTexts(g.json.texts);
  const golden = g.raw.get("text_embeds")!;
  const gt = new Float32Array(golden.data.buffer.slice(golden.data.byteOffset, golden.data.byteOffset + golden.data.byteLength));
  texts.forEach((row, r) => row.forEach((v, k) => assert.ok(Math.abs(v - gt[r * 16 + k]!) < 1e-5, `text ${r}[${k}]`)));
  const px = g.raw.get("pixel_values")!;
  const pixels = new Float32Array(px.data.buffer.slice(px.data.byteOffset, px.data.byteOffset + px.data.byteLength));
  const images = await model.encodeImages([{ data: pixels, shape: [4, 3, 32, 32] }]);
  const gi = g.raw.get("image_embeds")!;
  const gif = new Float32Array(gi.data.buffer.slice(gi.data.byteOffset, gi.data.byteOffset + gi.data.byteLength));
  assert.equal(images.length, 4);
  images.forEach((row, r) => row.forEach((v, k) => assert.ok(Math.abs(v - gif[r * 16 + k]!) < 1e-5, `image ${r}[${k}]`)));
  model.dispose();
});

test("M-CLIP loads with a CLIP image tower and reproduces its golden text embeddings (normalised)", async () => {
  const g = loadGolden("mclip-tiny");
  const model = await loadModel(fixture("mclip-tiny", "model"), { vision: fixture("clip-tiny", "model") });
  const rows = await model.encodeTexts(g.json.texts, { normalize: false });
  const raw = g.raw.get("text_embeds")!;
  const want = new Float32Array(raw.data.buffer.slice(raw.data.byteOffset, raw.data.byteOffset + raw.data.byteLength));
  rows.forEach((row, r) => row.forEach((v, k) => assert.ok(Math.abs(v - want[r * 16 + k]!) < 1e-5, `text ${r}[${k}]`)));
  const [img] = await model.encodeImages([IMAGES[0]!]);
  assert.equal(img!.length, 16);
  model.dispose();
  await assert.rejects(async () => {
    const textOnly = await loadModel(fixture("mclip-tiny", "model"));
    try { await textOnly.encodeImages([IMAGES[0]!]); } finally { textOnly.dispose(); }
  }, /M-CLIP is a text encoder/);
});

test("saveModel writes a folder loadModel reads back with identical embeddings (also fp16)", async () => {
  const model: PretrainedModel = await loadModel(TINY);
  const out = join(work, "saved");
  saveModel(model, out);
  const again = await embeddings(out);
  const reference = { t: await model.encodeTexts(TEXTS), i: await model.encodeImages(IMAGES) };
  assert.equal(maxDiff(again.t, reference.t), 0);
  assert.equal(maxDiff(again.i, reference.i), 0);
  const half = join(work, "saved-fp16");
  saveModel(model, half, { dtype: "float16" });
  assert.equal(readSafetensors(join(half, "model.safetensors")).get("logit_scale")!.dtype, "F16");
  const h = await embeddings(half);
  assert.ok(maxDiff(h.t, reference.t) < 5e-3);
  const cfg = JSON.parse(readFileSync(join(out, "preprocessor_config.json"), "utf8"));
  assert.deepEqual(cfg.size, { shortest_edge: 32 });
  model.dispose();
});

test("broken or hostile model folders fail with one line naming the file and problem", async () => {
  const line = (re: RegExp) => (err: Error) => { assert.match(err.message, re); assert.ok(!err.message.includes("\n"), err.message); return true; };
  // a pickle whose global is os.system: refused, never executed
  const evil = folder("evil", (dir) => {
    const pickle = Buffer.from("\x80\x02cos\nsystem\nq\x00X\x05\x00\x00\x00touchq\x01\x85q\x02Rq\x03.", "latin1");
    const fd = openSync(join(dir, "pytorch_model.bin"), "w");
    writeZip(fd, [{ name: "archive/data.pkl", data: new Uint8Array(pickle) }]);
    closeSync(fd);
  });
  await assert.rejects(loadModel(evil), line(/pytorch_model\.bin.*os\.system|os\.system.*pytorch_model\.bin/));
  const truncated = folder("truncated", (dir) => {
    const bytes = readFileSync(join(TINY, "model.safetensors"));
    writeFileSync(join(dir, "model.safetensors"), bytes.subarray(0, bytes.length - 1000));
  });
  await assert.rejects(loadModel(truncated), line(/model\.safetensors.*truncated/));
  const config = JSON.parse(readFileSync(join(TINY, "config.json"), "utf8"));
  const mismatched = folder("mismatched", (dir) => copyFileSync(join(TINY, "model.safetensors"), join(dir, "model.safetensors")), {
    ...config, vision_config: { ...config.vision_config, intermediate_size: 99 },
  });
  await assert.rejects(loadModel(mismatched), line(/model\.safetensors: tensor 'vision_model\.encoder\.layers\.0\.mlp\.fc1\.weight' has shape \[37,32\] but the config implies \[99,32\]/));
  const unknown = folder("unknown", () => {}, { ...config, model_type: "llama" });
  await assert.rejects(loadModel(unknown), line(/config\.json: unsupported model_type 'llama' \(known: clip, vision-text-dual-encoder, hybrid-clip, M-CLIP\)/));
  const empty = folder("noweights", () => {});
  await assert.rejects(loadModel(empty), line(/no model weights found/));
  await assert.rejects(loadModel(join(work, "missing")), line(/no such model folder/));
});
