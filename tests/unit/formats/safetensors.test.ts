/**
 * safetensors reader/writer against the shared HF fixtures (written by the Rust crate through
 * `safetensors.torch.save_file`) and against hand-broken files.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture } from "../../helpers/fixtures.js";
import {
  float32ToRaw,
  openSafetensors,
  rawToFloat32,
  readSafetensors,
  readSafetensorsIndex,
  readShardedSafetensors,
  writeSafetensors,
  type RawTensor,
} from "../../../src/formats/index.js";

const FIXTURES = [
  ["clip-tiny", "model", "model.safetensors"],
  ["koclip-tiny", "model", "model.safetensors"],
  ["mclip-tiny", "model", "model.safetensors"],
  ["clip-tiny", "golden.safetensors"],
  ["koclip-tiny", "golden.safetensors"],
  ["mclip-tiny", "golden.safetensors"],
  ["image-processor", "golden.safetensors"],
];

/** Independent header parse: the test must not trust the code under test to read the header. */
function rawHeader(bytes: Buffer): { json: Record<string, any>; dataStart: number } {
  const n = Number(bytes.readBigUInt64LE(0));
  return { json: JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")), dataStart: 8 + n };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "koclip-st-"));
}

test("HF fixtures load with the names, dtypes, shapes and bytes of their JSON headers", () => {
  for (const parts of FIXTURES) {
    const path = fixture(...parts);
    const bytes = readFileSync(path);
    const { json, dataStart } = rawHeader(bytes);
    const loaded = readSafetensors(path);
    const names = Object.keys(json).filter((k) => k !== "__metadata__");
    assert.equal(loaded.size, names.length, path);
    for (const name of names) {
      const t = loaded.get(name);
      assert.ok(t, `${path}: ${name} missing`);
      assert.equal(t.dtype, json[name].dtype);
      assert.deepEqual(t.shape, json[name].shape);
      const [b, e] = json[name].data_offsets;
      assert.ok(Buffer.from(t.data).equals(bytes.subarray(dataStart + b, dataStart + e)), `${path}: ${name} bytes`);
    }
  }
});

test("known fixture tensors have the expected shapes and values", () => {
  const clip = readSafetensors(fixture("clip-tiny", "model", "model.safetensors"));
  assert.deepEqual(clip.get("logit_scale")?.shape, []);
  assert.deepEqual(clip.get("text_model.embeddings.position_embedding.weight")?.shape, [32, 32]);
  assert.deepEqual(clip.get("text_model.embeddings.token_embedding.weight")?.shape, [1200, 32]);
  // config.json: logit_scale_init_value = 2.6592 (HF's rounding of ln(1/0.07))
  assert.equal(rawToFloat32(clip.get("logit_scale")!)[0], Math.fround(2.6592));
  const golden = readSafetensors(fixture("mclip-tiny", "golden.safetensors"));
  assert.equal(golden.get("input_ids")?.dtype, "I64");
  assert.deepEqual(golden.get("input_ids")?.shape, [4, 16]);
});

test("HF fixtures round-trip byte-exactly through write/read", () => {
  const dir = tempDir();
  try {
    for (const parts of FIXTURES) {
      const path = fixture(...parts);
      using f = openSafetensors(path);
      const tensors = new Map(f.keys().map((k) => [k, f.get(k)]));
      const out = join(dir, "rt.safetensors");
      writeSafetensors(out, tensors, f.metadata);
      assert.ok(readFileSync(out).equals(readFileSync(path)), `${path} differs after round trip`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lazy open reads header first and tensors on demand", () => {
  const path = fixture("koclip-tiny", "model", "model.safetensors");
  const eager = readSafetensors(path);
  const f = openSafetensors(path);
  assert.deepEqual(f.metadata, { format: "pt" });
  assert.deepEqual(f.keys(), [...eager.keys()]);
  assert.deepEqual(f.keys(), [...f.keys()].sort());
  const name = f.keys()[3];
  assert.deepEqual(f.info(name).shape, eager.get(name)!.shape);
  assert.deepEqual(f.get(name), eager.get(name));
  assert.throws(() => f.get("nope"), /no tensor named 'nope'/);
  f.close();
  f.close();
  assert.throws(() => f.get(name), /closed/);
});

test("writer matches the Rust layout: 8-byte padding, dtype-descending then name order, metadata first", () => {
  const dir = tempDir();
  try {
    const path = join(dir, "w.safetensors");
    const tensors: Record<string, RawTensor> = {
      "b.f16": float32ToRaw(new Float32Array([1, 2]), [2], "F16"),
      "a.f32": float32ToRaw(new Float32Array([0, 1, 2, 3, 4, 5]), [1, 2, 3]),
      "c.i64": { dtype: "I64", shape: [1], data: new Uint8Array(new BigInt64Array([-7n]).buffer) },
      "d.bool": { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
      "a.f32.scalar": float32ToRaw(new Float32Array([9]), []),
    };
    writeSafetensors(path, tensors, { z: "1", format: "pt" });
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const text = bytes.subarray(8, 8 + n).toString("utf8");
    assert.equal(
      text.trimEnd(),
      '{"__metadata__":{"format":"pt","z":"1"},' +
        '"c.i64":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
        '"a.f32":{"dtype":"F32","shape":[1,2,3],"data_offsets":[8,32]},' +
        '"a.f32.scalar":{"dtype":"F32","shape":[],"data_offsets":[32,36]},' +
        '"b.f16":{"dtype":"F16","shape":[2],"data_offsets":[36,40]},' +
        '"d.bool":{"dtype":"BOOL","shape":[3],"data_offsets":[40,43]}}',
    );
    assert.match(text, /^[^ ]* {0,7}$/);
    const back = readSafetensors(path);
    for (const [k, t] of Object.entries(tensors)) assert.deepEqual(back.get(k), t, k);
    assert.deepEqual(Array.from(rawToFloat32(back.get("c.i64")!)), [-7]);

    // Without metadata the key is omitted, as save_file(metadata=None) does; an empty file is "{}" + 6 spaces.
    writeSafetensors(path, new Map());
    assert.deepEqual([...readFileSync(path)], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("writes are atomic: bad input leaves the old file and no temp files", () => {
  const dir = tempDir();
  try {
    const path = join(dir, "m.safetensors");
    writeSafetensors(path, { x: float32ToRaw(new Float32Array([1]), [1]) });
    const before = readFileSync(path);
    const bad: RawTensor = { dtype: "F32", shape: [2], data: new Uint8Array(4) };
    assert.throws(() => writeSafetensors(path, { x: bad }), /tensor 'x': F32\[2\] needs 8 bytes but data has 4/);
    assert.throws(() => writeSafetensors(path, { __metadata__: float32ToRaw(new Float32Array([1]), [1]) }), /reserved/);
    assert.ok(readFileSync(path).equals(before));
    writeSafetensors(path, { y: float32ToRaw(new Float32Array([2]), [1]) });
    assert.deepEqual([...readSafetensors(path).keys()], ["y"]);
    assert.deepEqual(readdirSync(dir), ["m.safetensors"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A file whose header is `header` (string or object) followed by `dataBytes` zero bytes. */
function craft(dir: string, name: string, header: string | object, dataBytes: number): string {
  const h = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.byteLength));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, h, Buffer.alloc(dataBytes)]));
  return path;
}

test("broken headers fail with one line naming the file and the problem", () => {
  const dir = tempDir();
  try {
    const cases: [string, () => string, RegExp][] = [
      ["short.safetensors", () => (writeFileSync(join(dir, "short.safetensors"), Buffer.from([1, 2, 3])), join(dir, "short.safetensors")), /short\.safetensors: file is 3 bytes, too short/],
      ["past.safetensors", () => {
        const p = join(dir, "past.safetensors");
        const b = Buffer.alloc(20);
        b.writeBigUInt64LE(1000n);
        writeFileSync(p, b);
        return p;
      }, /past\.safetensors: header length 1000 runs past the end of the 20-byte file/],
      ["huge.safetensors", () => {
        const p = join(dir, "huge.safetensors");
        const b = Buffer.alloc(16);
        b.writeBigUInt64LE(0xffffffffffffn);
        writeFileSync(p, b);
        return p;
      }, /huge\.safetensors: header length \d+ is over/],
      ["json.safetensors", () => craft(dir, "json.safetensors", '{"x": {"dtype": "F32",', 0), /json\.safetensors: header is not valid JSON/],
      ["array.safetensors", () => craft(dir, "array.safetensors", "[1,2]", 0), /array\.safetensors: header is not a JSON object/],
      ["dtype.safetensors", () => craft(dir, "dtype.safetensors", { x: { dtype: "Q7", shape: [1], data_offsets: [0, 1] } }, 1), /dtype\.safetensors: tensor 'x' has unsupported dtype "Q7"/],
      ["u16.safetensors", () => craft(dir, "u16.safetensors", { x: { dtype: "U16", shape: [1], data_offsets: [0, 2] } }, 2), /tensor 'x' has unsupported dtype "U16"/],
      ["shape.safetensors", () => craft(dir, "shape.safetensors", { x: { dtype: "F32", shape: [2, -1], data_offsets: [0, 8] } }, 8), /tensor 'x' has invalid shape \[2,-1\]/],
      ["offs.safetensors", () => craft(dir, "offs.safetensors", { x: { dtype: "F32", shape: [2], data_offsets: [8, 4] } }, 8), /tensor 'x' has invalid data_offsets \[8,4\]/],
      ["size.safetensors", () => craft(dir, "size.safetensors", { x: { dtype: "F32", shape: [2, 3], data_offsets: [0, 16] } }, 24), /tensor 'x' is F32\[2,3\] = 24 bytes but data_offsets 0\.\.16 span 16/],
      ["overlap.safetensors", () => craft(dir, "overlap.safetensors", {
        a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
        b: { dtype: "F32", shape: [4], data_offsets: [8, 24] },
      }, 24), /overlap\.safetensors: tensors 'a' \(bytes 0\.\.16\) and 'b' \(bytes 8\.\.24\) overlap/],
      ["range.safetensors", () => craft(dir, "range.safetensors", { x: { dtype: "F32", shape: [1024], data_offsets: [0, 4096] } }, 1024), /range\.safetensors: tensor 'x' needs bytes 0\.\.4096 but the file's data section has 1024 \(truncated\?\)/],
      ["meta.safetensors", () => craft(dir, "meta.safetensors", { __metadata__: { a: 1 } }, 0), /__metadata__\['a'\] is 1, not a string/],
    ];
    for (const [name, make, re] of cases) {
      const path = make();
      const err = (() => {
        try {
          openSafetensors(path);
        } catch (e) {
          return e as Error;
        }
        assert.fail(`${name}: no error`);
      })();
      assert.match(err.message, re, name);
      assert.ok(!err.message.includes("\n"), `${name}: multi-line message`);
      assert.throws(() => readSafetensors(path), re);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a truncated real file names the first tensor that no longer fits", () => {
  const dir = tempDir();
  try {
    const src = readFileSync(fixture("clip-tiny", "model", "model.safetensors"));
    const path = join(dir, "model.safetensors");
    writeFileSync(path, src.subarray(0, src.byteLength - 100));
    assert.throws(() => readSafetensors(path), /model\.safetensors: tensor '.*' needs bytes \d+\.\.\d+ but the file's data section has \d+ \(truncated\?\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("sharded checkpoints: index resolves shards, every shard is read, mismatches are errors", () => {
  const dir = tempDir();
  try {
    const all = readSafetensors(fixture("mclip-tiny", "model", "model.safetensors"));
    const names = [...all.keys()];
    const half = Math.ceil(names.length / 2);
    const shardOf = (i: number) => (i < half ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
    writeSafetensors(join(dir, shardOf(0)), new Map(names.slice(0, half).map((n) => [n, all.get(n)!])));
    writeSafetensors(join(dir, shardOf(half)), new Map(names.slice(half).map((n) => [n, all.get(n)!])));
    const weightMap = Object.fromEntries(names.map((n, i) => [n, shardOf(i)]));
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 1 }, weight_map: weightMap }));

    const index = readSafetensorsIndex(dir);
    assert.deepEqual(index.shards, [join(dir, shardOf(0)), join(dir, shardOf(half))]);
    assert.equal(index.weightMap.get(names[0]), join(dir, shardOf(0)));
    assert.deepEqual(index.metadata, { total_size: 1 });
    const loaded = readShardedSafetensors(dir);
    assert.equal(loaded.size, all.size);
    for (const [k, t] of all) assert.deepEqual(loaded.get(k), t, k);

    writeFileSync(join(dir, "bad.index.json"), JSON.stringify({ weight_map: { ...weightMap, ghost: shardOf(0) } }));
    assert.throws(() => readShardedSafetensors(dir, "bad.index.json"), /index puts 'ghost' in .* but no shard has it/);
    writeFileSync(join(dir, "evil.index.json"), JSON.stringify({ weight_map: { x: "../../etc/passwd" } }));
    assert.throws(() => readSafetensorsIndex(dir, "evil.index.json"), /is not a plain file name/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
