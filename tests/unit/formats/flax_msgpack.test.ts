/**
 * Flax msgpack reader/writer. small.msgpack and small_plain.msgpack hold the same tensors as
 * small.bin, packed with python3-msgpack exactly as flax.serialization packs arrays (the
 * generating script is quoted at the top of torch_pickle.test.ts).
 *
 * writeFlaxMsgpack's output with 16-byte chunks was decoded once in Python by a re-implementation of
 * flax's `msgpack_restore` (`_ndarray_from_bytes` ext hook plus `_unchunk`): every array equal to
 * `torch.load("small.bin")`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode, encode, ExtData } from "@msgpack/msgpack";
import { fixture } from "../../helpers/fixtures.js";
import { float32ToRaw, rawToFloat32, readFlaxMsgpack, readSafetensors, writeFlaxMsgpack } from "../../../src/formats/index.js";
import { assertMatches, DATA_DIR, SMALL } from "./small_fixture.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "koclip-flax-"));
}

test("flax files load with '.'-joined paths and exact values", () => {
  for (const file of ["small.msgpack", "small_plain.msgpack"]) {
    const got = readFlaxMsgpack(join(DATA_DIR, file));
    for (const [name, e] of Object.entries(SMALL.tensors)) {
      if (name === "empty") continue; // not in the flax files
      assertMatches(got.get(`params.${name}`), e, `${file}: ${name}`);
    }
  }
  const extras = readFlaxMsgpack(join(DATA_DIR, "small.msgpack"));
  // ext type 3 (numpy scalar) becomes a 0-d tensor
  assert.deepEqual(extras.get("params.npscalar"), float32ToRaw(new Float32Array([0.25]), []));
  // the chunked form is reassembled; the int leaf "step" is not a tensor and is skipped
  assert.deepEqual(extras.get("params.chunked"), float32ToRaw(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3]));
  assert.equal(extras.has("step"), false);
  assert.equal(extras.size, Object.keys(SMALL.tensors).length - 1 + 2);
});

test("writing what was read reproduces python-msgpack's bytes", () => {
  const dir = tempDir();
  try {
    const src = join(DATA_DIR, "small_plain.msgpack");
    const out = join(dir, "plain.msgpack");
    writeFlaxMsgpack(out, readFlaxMsgpack(src));
    assert.ok(readFileSync(out).equals(readFileSync(src)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("large arrays use flax's chunked layout and read back whole", () => {
  const dir = tempDir();
  try {
    const model = readSafetensors(fixture("clip-tiny", "model", "model.safetensors"));
    const path = join(dir, "flax_model.msgpack");
    writeFlaxMsgpack(path, model, { maxChunkBytes: 1000 });
    const back = readFlaxMsgpack(path);
    assert.equal(back.size, model.size);
    for (const [name, t] of model) assert.deepEqual(back.get(name), t, name);

    const tree = decode(readFileSync(path)) as any;
    const emb = tree.text_model.embeddings.token_embedding.weight; // [1200, 32] f32 = 153600 bytes
    assert.equal(emb.__msgpack_chunked_array__, true);
    assert.deepEqual(emb.shape, { "0": 1200, "1": 32 });
    assert.equal(Object.keys(emb.chunks).length, Math.ceil((1200 * 32) / 250));
    const first = decode((emb.chunks["0"] as ExtData).data as Uint8Array) as [number[], string, Uint8Array];
    assert.deepEqual([first[0], first[1], first[2].byteLength], [[250], "float32", 1000]);
    // small arrays stay plain ext-1 values
    assert.ok(tree.logit_scale instanceof ExtData && tree.logit_scale.type === 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bad trees and bad files fail with the path inside the tree", () => {
  const dir = tempDir();
  try {
    const one = float32ToRaw(new Float32Array([1]), [1]);
    const path = join(dir, "x.msgpack");
    assert.throws(() => writeFlaxMsgpack(path, { "a.b": one, a: one }), /'a' is both a tensor and a prefix/);
    assert.throws(() => writeFlaxMsgpack(path, { a: one, "a.b": one }), /'a\.b' nests under a tensor/);
    assert.throws(() => writeFlaxMsgpack(path, { "a..b": one }), /'a\.\.b' cannot be a flax tree path/);
    // names that collide with Object.prototype members are plain keys
    writeFlaxMsgpack(path, { "constructor.toString": one });
    assert.deepEqual([...readFlaxMsgpack(path).keys()], ["constructor.toString"]);

    const arr = (shape: number[], dtype: string, bytes: number) => new ExtData(1, encode([shape, dtype, new Uint8Array(bytes)]));
    const cases: [unknown, RegExp][] = [
      [{ p: { w: arr([2], "complex64", 16) } }, /p\.w: numpy dtype "complex64" is not supported/],
      [{ p: { w: arr([2, 3], "float32", 20) } }, /p\.w: float32\[2,3\] needs 24 bytes but has 20/],
      [{ p: { z: new ExtData(2, encode([1, 2])) } }, /p\.z: complex scalars are not supported/],
      [{ p: { c: { __msgpack_chunked_array__: true, shape: { "0": 3 }, chunks: { "0": arr([2], "float32", 8) } } } }, /p\.c: chunks hold 8 bytes, shape \[3\] needs 12/],
    ];
    for (const [tree, re] of cases) {
      writeFileSync(path, encode(tree));
      assert.throws(() => readFlaxMsgpack(path), (err: Error) => re.test(err.message) && err.message.startsWith(path));
    }
    writeFileSync(path, readFileSync(join(DATA_DIR, "small.msgpack")).subarray(0, 500));
    assert.throws(() => readFlaxMsgpack(path), /x\.msgpack: not valid msgpack/);
    assert.deepEqual(Array.from(rawToFloat32(one)), [1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
