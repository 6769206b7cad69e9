/**
 * torch.save zip-pickle reader/writer.
 *
 * tests/data/formats/small.{bin,json}, small_deflate.bin and the flax files small.msgpack and
 * small_plain.msgpack were made once with Debian 12's python3-torch 1.13.1, python3-msgpack and
 * python3-numpy by this script, run from the repo root (Python is not used by the product):
 *
 *   # Makes tests/data/formats/{small.bin,small_deflate.bin,small.msgpack,small_plain.msgpack,small.json}.
 *   # Run once from the repo root with Debian's python3-torch 1.13, python3-msgpack, python3-numpy.
 *   import json, struct, zipfile
 *   import msgpack, numpy as np, torch
 *
 *   torch.manual_seed(0)
 *   sd = torch.nn.Linear(4, 2).state_dict()          # an OrderedDict carrying _metadata (pickled via BUILD)
 *   sd["f32"] = torch.randn(3, 4)
 *   sd["f16"] = torch.randn(5).half()
 *   sd["bf16"] = torch.randn(2, 3).bfloat16()
 *   sd["f64"] = torch.randn(2, 2).double()
 *   sd["i64"] = torch.tensor([0, -1, 2**40, -(2**53) + 1, 7])
 *   sd["i32"] = torch.tensor([1, -2, 3], dtype=torch.int32)
 *   sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
 *   sd["i8"] = torch.tensor([-5, 5], dtype=torch.int8)
 *   sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
 *   sd["bool"] = torch.tensor([True, False, True])
 *   sd["scalar"] = torch.tensor(3.5)
 *   sd["empty"] = torch.zeros(0, 3)
 *   sd["param"] = torch.nn.Parameter(torch.randn(2))  # pickled through _rebuild_parameter
 *   sd["base"] = torch.randn(3, 5)
 *   sd["transposed"] = sd["base"].t()                # shares base's storage, strides (1, 5)
 *   big = torch.arange(20, dtype=torch.float32)
 *   sd["shared.head"] = big[:8]                        # three views of one storage:
 *   sd["shared.tail"] = big[10:].view(2, 5)           #   storage offset 10
 *   sd["shared.strided"] = big[1::3]                   #   offset 1, stride 3
 *   torch.save(sd, "tests/data/formats/small.bin")
 *
 *   # Same archive, every member deflated, to exercise the zlib path.
 *   with zipfile.ZipFile("tests/data/formats/small.bin") as src, \
 *        zipfile.ZipFile("tests/data/formats/small_deflate.bin", "w", zipfile.ZIP_DEFLATED) as dst:
 *       for info in src.infolist():
 *           dst.writestr(info.filename, src.read(info.filename))
 *   assert torch.equal(torch.load("tests/data/formats/small_deflate.bin")["f32"], sd["f32"])
 *
 *   ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
 *         torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
 *         torch.uint8: "U8", torch.bool: "BOOL"}
 *   NP = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I64": "int64",
 *         "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}
 *
 *   def values(t):
 *       flat = t.detach().reshape(-1)
 *       if t.dtype == torch.int64:
 *           return [str(v) for v in flat.tolist()]         # beyond 2^53 would not survive JSON numbers
 *       if t.dtype == torch.bool:
 *           return [int(v) for v in flat.tolist()]
 *       return flat.double().tolist()
 *
 *   def raw_bytes(t):
 *       t = t.detach().contiguous()
 *       if t.dtype == torch.bfloat16:
 *           return t.view(torch.int16).numpy().tobytes()   # numpy has no bfloat16
 *       return t.numpy().tobytes()
 *
 *   def ndarray_ext(t, code=1):
 *       # flax.serialization._ndarray_to_bytes: msgpack (shape, dtype name, C-order bytes), ext type 1
 *       payload = msgpack.packb((tuple(t.shape), NP[ST[t.dtype]], raw_bytes(t)), use_bin_type=True)
 *       return msgpack.ExtType(code, payload)
 *
 *   def nest(items):
 *       tree = {}
 *       for key, leaf in items:
 *           *path, last = key.split(".")
 *           node = tree
 *           for p in path:
 *               node = node.setdefault(p, {})
 *           node[last] = leaf
 *       return tree
 *
 *   flax_keys = [k for k in sd if k != "empty"]
 *   plain = nest([("params." + k, ndarray_ext(sd[k])) for k in flax_keys])
 *   with open("tests/data/formats/small_plain.msgpack", "wb") as f:
 *       f.write(msgpack.packb(plain, use_bin_type=True))
 *
 *   # The extras real flax files can hold: a numpy scalar (ext 3), a non-array leaf, and the chunked
 *   # form flax uses for arrays over 2**30 bytes (here forced on a small array, 4 elements per chunk).
 *   tree = nest([("params." + k, ndarray_ext(sd[k])) for k in flax_keys])
 *   tree["params"]["npscalar"] = ndarray_ext(torch.tensor(0.25), code=3)
 *   tree["step"] = 3
 *   chunked = torch.arange(6, dtype=torch.float32).view(2, 3)
 *   flat = chunked.reshape(-1)
 *   tree["params"]["chunked"] = {"__msgpack_chunked_array__": True, "shape": {"0": 2, "1": 3},
 *                                "chunks": {"0": ndarray_ext(flat[:4]), "1": ndarray_ext(flat[4:])}}
 *   with open("tests/data/formats/small.msgpack", "wb") as f:
 *       f.write(msgpack.packb(tree, use_bin_type=True))
 *
 *   # Rounding reference: torch's f32 -> f16 / bf16 (round to nearest even) on edge cases and randoms.
 *   edge = [0.0, -0.0, 1.0, 1 + 2**-11, 1 + 3 * 2**-11, 1 + 2**-8, 1 + 3 * 2**-8, 65504.0, 65519.0, 65520.0,
 *           1e6, -1e6, 2**-24, 2**-25, 2**-25 * 1.5, 3 * 2**-26, 2**-14, 2**-14 - 2**-25, 1e-30,
 *           float("inf"), float("-inf"), float("nan"), 3.4e38, -3.4e38, 1.17549435e-38, 1e-45]
 *   x = torch.cat([torch.tensor(edge, dtype=torch.float32), torch.randn(200) * 10.0 ** torch.randint(-8, 6, (200,))])
 *   conv = {"f32": x.view(torch.int32).tolist(),
 *           "f16": x.half().view(torch.int16).tolist(),
 *           "bf16": x.bfloat16().view(torch.int16).tolist()}
 *
 *   expected = {k: {"dtype": ST[t.dtype], "shape": list(t.shape), "values": values(t)} for k, t in sd.items()}
 *   with open("tests/data/formats/small.json", "w") as f:
 *       json.dump({"tensors": expected, "conversions": conv}, f)
 *
 * writeTorchBin's output (plain and with forced ZIP64) was loaded once with that torch 1.13:
 * `torch.load(f)` and `torch.load(f, weights_only=True)` return an OrderedDict equal, key for key
 * and dtype for dtype, to `torch.load("small.bin")`, `zipfile.testzip()` passes, and every member's
 * data starts on a 64-byte boundary.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture } from "../../helpers/fixtures.js";
import {
  PickleCallable,
  PickleWriter,
  rawToFloat32,
  readSafetensors,
  readTorchBin,
  unpickle,
  writeTorchBin,
  writeZip,
  type RawTensor,
} from "../../../src/formats/index.js";
import { writeFileAtomic } from "../../../src/formats/file_io.js";
import { assertMatches, DATA_DIR, SMALL } from "./small_fixture.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "koclip-torch-"));
}

/** A torch-style archive around arbitrary pickle bytes and storages. */
function archive(path: string, pkl: Uint8Array, storages: Record<string, Uint8Array> = {}): string {
  const members = [
    { name: "archive/data.pkl", data: pkl },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    { name: "archive/version", data: new TextEncoder().encode("3\n") },
  ];
  writeFileAtomic(path, (fd) => writeZip(fd, members, { align: 64 }));
  return path;
}

function bytes(...parts: (number[] | string)[]): Uint8Array {
  const enc = new TextEncoder();
  return Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...enc.encode(p)] : p)));
}

/** BINUNICODE of `s`. */
function binunicode(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [0x58, b.length & 0xff, (b.length >> 8) & 0xff, 0, 0, ...b];
}

test("small.bin from torch.save loads every dtype, view and shared storage exactly", () => {
  for (const file of ["small.bin", "small_deflate.bin"]) {
    const got = readTorchBin(join(DATA_DIR, file));
    assert.deepEqual([...got.keys()], Object.keys(SMALL.tensors), `${file}: keys in pickle order`);
    for (const [name, e] of Object.entries(SMALL.tensors)) assertMatches(got.get(name), e, `${file}: ${name}`);
  }
});

test("views are resolved to dense, non-aliasing buffers", () => {
  const got = readTorchBin(join(DATA_DIR, "small.bin"));
  const base = rawToFloat32(got.get("base")!); // [3, 5]
  const tr = rawToFloat32(got.get("transposed")!); // [5, 3], stride (1, 5) in the file
  for (let i = 0; i < 5; i++) for (let j = 0; j < 3; j++) assert.equal(tr[i * 3 + j], base[j * 5 + i]);
  assert.deepEqual(Array.from(rawToFloat32(got.get("shared.tail")!)), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.deepEqual(Array.from(rawToFloat32(got.get("shared.strided")!)), [1, 4, 7, 10, 13, 16, 19]);
  const head = got.get("shared.head")!;
  const tail = got.get("shared.tail")!;
  assert.notEqual(head.data.buffer, tail.data.buffer);
  head.data.fill(0);
  assert.equal(rawToFloat32(got.get("shared.strided")!)[0], 1);
});

test("writeTorchBin round-trips through readTorchBin, with and without ZIP64", () => {
  const dir = tempDir();
  try {
    const src = readTorchBin(join(DATA_DIR, "small.bin"));
    for (const forceZip64 of [false, true]) {
      const path = join(dir, `rt${forceZip64 ? "64" : ""}.bin`);
      writeTorchBin(path, src, { forceZip64 });
      const back = readTorchBin(path);
      assert.deepEqual([...back.keys()], [...src.keys()]);
      for (const [name, e] of Object.entries(SMALL.tensors)) assertMatches(back.get(name), e, `${path}: ${name}`);
    }
    // a real model: safetensors -> torch zip -> tensors, bytes unchanged
    const model = readSafetensors(fixture("koclip-tiny", "model", "model.safetensors"));
    const path = join(dir, "pytorch_model.bin");
    writeTorchBin(path, model);
    const back = readTorchBin(path);
    assert.equal(back.size, model.size);
    for (const [name, t] of model) assert.deepEqual(back.get(name), t, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("hostile pickles are refused by global name and nothing runs", () => {
  const dir = tempDir();
  try {
    const marker = join(dir, "pwned");
    const cases: [string, Uint8Array, RegExp][] = [
      ["os.system", bytes([0x80, 2], "cos\nsystem\n", binunicode(`touch ${marker}`), [0x85, 0x52, 0x2e]), /refusing to load global 'os\.system'/],
      ["builtins.eval", bytes([0x80, 2], "cbuiltins\neval\n", binunicode("__import__('os')"), [0x85, 0x52, 0x2e]), /refusing to load global 'builtins\.eval'/],
      // protocol 4 spelling of the same thing
      ["STACK_GLOBAL", bytes([0x80, 4, 0x8c, 8], "builtins", [0x8c, 4], "exec", [0x93], binunicode("1"), [0x85, 0x52, 0x2e]), /refusing to load global 'builtins\.exec'/],
      ["torch.load", bytes([0x80, 2], "ctorch.serialization\nload\n", [0x29, 0x52, 0x2e]), /refusing to load global 'torch\.serialization\.load'/],
      ["INST", bytes([0x80, 2, 0x28], "ios\nsystem\n", [0x2e]), /opcode INST .* not supported/],
      ["NEWOBJ", bytes([0x80, 2], "ccollections\nOrderedDict\n", [0x29, 0x81, 0x2e]), /opcode NEWOBJ .* not supported/],
      ["storage call", bytes([0x80, 2], "ctorch\nFloatStorage\n", [0x29, 0x52, 0x2e]), /REDUCE on StorageType, which is not an allowed callable/],
      ["truncated", bytes([0x80, 2, 0x58, 9, 0, 0, 0], "abc"), /pickle ends in the middle of an opcode/],
    ];
    for (const [name, pkl, re] of cases) {
      const path = archive(join(dir, `${name.replace(/\W/g, "_")}.bin`), pkl);
      assert.throws(() => readTorchBin(path), (err: Error) => re.test(err.message) && err.message.includes(path) && !err.message.includes("\n"), name);
    }
    assert.equal(existsSync(marker), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The pickle writeTorchBin would write for one F32 tensor, with the storage numel and view chosen freely. */
function onePickle(storageNumel: number, offset: number, size: number[]): Uint8Array {
  const p = new PickleWriter().proto(2).global("collections", "OrderedDict").emptyTuple().reduce().mark();
  p.str("w").global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(storageNumel).tuple().persId();
  p.int(offset).intTuple(size).intTuple(size.map(() => 1)).bool(false).global("collections", "OrderedDict").emptyTuple().reduce();
  return p.tuple().reduce().setItems().finish();
}

test("inconsistent archives fail with the file and the problem", () => {
  const dir = tempDir();
  try {
    const four = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const ok = archive(join(dir, "ok.bin"), onePickle(4, 1, [3]), { "0": four });
    assert.deepEqual(Array.from(rawToFloat32(readTorchBin(ok).get("w")!)), [2, 3, 4]);

    const small = archive(join(dir, "small_storage.bin"), onePickle(10, 0, [4]), { "0": four });
    assert.throws(() => readTorchBin(small), /small_storage\.bin: storage '0' \(FloatStorage\) needs 40 bytes but archive\/data\/0 has 16/);
    const beyond = archive(join(dir, "beyond.bin"), onePickle(4, 2, [4]), { "0": four });
    assert.throws(() => readTorchBin(beyond), /beyond\.bin: tensor 'w' reaches element 5 of storage '0', which holds 4/);
    const missing = archive(join(dir, "missing.bin"), onePickle(4, 0, [4]));
    assert.throws(() => readTorchBin(missing), /missing\.bin: storage '0' is referenced but archive\/data\/0 is missing/);

    const notZip = join(dir, "legacy.bin");
    writeFileSync(notZip, Buffer.from([0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]));
    assert.throws(() => readTorchBin(notZip), /legacy\.bin: not a zip archive; the pre-1\.6 torch\.save format/);

    // flip one byte inside data.pkl ("weight" -> "xeight"): the CRC catches it
    const corrupt = join(dir, "corrupt.bin");
    copyFileSync(join(DATA_DIR, "small.bin"), corrupt);
    const buf = readFileSync(corrupt);
    buf[buf.indexOf("weight")] = "x".charCodeAt(0);
    writeFileSync(corrupt, buf);
    assert.throws(() => readTorchBin(corrupt), /corrupt\.bin: member 'small\/data\.pkl': CRC mismatch/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the pickle machine decodes CPython's protocol 2 and 4 output", () => {
  const refuse = { findGlobal: (m: string, n: string): never => assert.fail(`asked for ${m}.${n}`) };
  // pickle.dumps({'a': [1, -2**70, 1.5, True, None, 'é', (1, 2, 3, 4)], 7: -1}, protocol=2)
  const p2 = Buffer.from(
    "80027d71002858010000006171015d7102284b018a090000000000000000c0473ff8000000000000884e5802000000c3a97103284b014b024b034b04747104654b074affffffff752e",
    "hex",
  );
  assert.deepEqual(unpickle(p2, "p2", refuse), new Map<unknown, unknown>([["a", [1, -(2n ** 70n), 1.5, true, null, "é", [1, 2, 3, 4]]], [7, -1]]));
  // pickle.dumps(['s', 2**31, -129, 65536], protocol=4): FRAME, MEMOIZE, SHORT_BINUNICODE
  const p4 = Buffer.from("8004951a000000000000005d94288c0173948a0500000080004a7fffffff4a00000100652e", "hex");
  assert.deepEqual(unpickle(p4, "p4", refuse), ["s", 2 ** 31, -129, 65536]);

  const ints = [0, 255, 256, 65535, 65536, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40, -(2 ** 53 - 1)];
  const w = new PickleWriter().proto(2).mark();
  for (const i of ints) w.int(i);
  w.int(2n ** 70n).int(-(2n ** 63n)).tuple();
  assert.deepEqual(unpickle(w.finish(), "ints", refuse), [...ints, 2n ** 70n, -(2n ** 63n)]);

  const calls: unknown[][] = [];
  const allow = { findGlobal: () => new PickleCallable("m.f", (args) => (calls.push(args), "ok")) };
  assert.equal(unpickle(bytes([0x80, 2], "cm\nf\n", [0x4b, 5, 0x85, 0x52, 0x2e]), "call", allow), "ok");
  assert.deepEqual(calls, [[5]]);
});

test("writer rejects malformed tensors before touching the file", () => {
  const dir = tempDir();
  try {
    const path = join(dir, "x.bin");
    const bad: RawTensor = { dtype: "F16", shape: [3], data: new Uint8Array(4) };
    assert.throws(() => writeTorchBin(path, { bad }), /x\.bin: tensor 'bad': F16\[3\] needs 6 bytes but data has 4/);
    assert.equal(existsSync(path), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
