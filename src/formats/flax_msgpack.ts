/**
 * Flax checkpoints (`flax_model.msgpack`): `flax.serialization.to_bytes(params)`, i.e. the nested
 * param dict packed with msgpack, where each array is a msgpack extension value (reference:
 * flax/serialization.py, `_ndarray_to_bytes`, `_msgpack_ext_pack`, `_chunk`):
 *
 * - ext type 1 (ndarray): payload is itself msgpack of `[shape, dtype name, C-order bytes]`,
 *   e.g. `[[2, 3], "float32", <24 bytes>]`; bfloat16 arrays say "bfloat16".
 * - ext type 3 (numpy scalar): the same payload with shape `[]`; read here as a 0-d tensor.
 * - ext type 2 (complex scalar): refused, no checkpoint we load has one.
 * - arrays over 2^30 bytes are split, since msgpack caps one value below 2^31 bytes, into
 *   `{"__msgpack_chunked_array__": true, "shape": {"0": d0, ...}, "chunks": {"0": 1-D array, ...}}`.
 *
 * This module only flattens and unflattens the tree with "."-joined paths; renaming or transposing
 * Flax layouts (kernel [in, out] vs torch weight [out, in]) belongs to the model adapters.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import { decode, encode, ExtData, ExtensionCodec } from "@msgpack/msgpack";
import { checkRawTensor, dtypeSize, numel, type DType, type RawTensor } from "./raw_tensor.js";
import { readAt, writeAll, writeFileAtomic } from "./file_io.js";

const EXT_NDARRAY = 1;
const EXT_COMPLEX = 2;
const EXT_NPSCALAR = 3;
const CHUNKED_MARKER = "__msgpack_chunked_array__";
/** flax's MAX_CHUNK_SIZE: arrays with more bytes than this are chunked. */
const MAX_CHUNK_BYTES = 2 ** 30;

const NUMPY_NAMES: Record<DType, string> = {
  F64: "float64", F32: "float32", F16: "float16", BF16: "bfloat16", I64: "int64",
  I32: "int32", I16: "int16", I8: "int8", U8: "uint8", BOOL: "bool",
};
const FROM_NUMPY = Object.fromEntries(Object.entries(NUMPY_NAMES).map(([d, n]) => [n, d])) as Record<string, DType>;

/** An extension value left undecoded until the tree walk knows its path (for error messages). */
class FlaxExt {
  constructor(readonly type: number, readonly data: Uint8Array) {}
}

const readCodec = new ExtensionCodec();
for (const type of [EXT_NDARRAY, EXT_COMPLEX, EXT_NPSCALAR]) {
  readCodec.register({ type, encode: () => null, decode: (data) => new FlaxExt(type, data) });
}

function decodeArray(label: string, ext: FlaxExt): RawTensor {
  if (ext.type === EXT_COMPLEX) throw new Error(`${label}: complex scalars are not supported`);
  const payload = decode(ext.data);
  if (!Array.isArray(payload) || payload.length !== 3) throw new Error(`${label}: array payload is not [shape, dtype, bytes]`);
  const [shape, rawName, bytes] = payload as unknown[];
  const name = rawName instanceof Uint8Array ? new TextDecoder().decode(rawName) : rawName;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${label}: bad array shape ${JSON.stringify(shape)}`);
  }
  const dtype = typeof name === "string" ? FROM_NUMPY[name] : undefined;
  if (!dtype) throw new Error(`${label}: numpy dtype ${JSON.stringify(name)} is not supported (supported: ${Object.keys(FROM_NUMPY).join(", ")})`);
  if (!(bytes instanceof Uint8Array)) throw new Error(`${label}: array data is not a byte string`);
  const want = numel(shape) * dtypeSize(dtype);
  if (bytes.byteLength !== want) throw new Error(`${label}: ${name}${JSON.stringify(shape)} needs ${want} bytes but has ${bytes.byteLength}`);
  // slice(): own, aligned memory instead of a view pinning the whole file buffer
  return { dtype, shape: shape as number[], data: bytes.slice() };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof FlaxExt);
}

/** Inverse of flax's `_tuple_to_dict`: {"0": a, "1": b} → [a, b]. */
function dictToList(label: string, v: unknown): unknown[] {
  if (!isPlainObject(v)) throw new Error(`${label}: expected a {"0": ..., "1": ...} dict`);
  const n = Object.keys(v).length;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    if (!(String(i) in v)) throw new Error(`${label}: key "${i}" missing`);
    out.push(v[String(i)]);
  }
  return out;
}

function unchunk(label: string, node: Record<string, unknown>): RawTensor {
  const shape = dictToList(`${label}.shape`, node.shape);
  if (!shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw new Error(`${label}: bad chunked shape`);
  const chunks = dictToList(`${label}.chunks`, node.chunks).map((c, i) => {
    if (!(c instanceof FlaxExt)) throw new Error(`${label}.chunks.${i}: not an array`);
    return decodeArray(`${label}.chunks.${i}`, c);
  });
  const dtype = chunks[0]?.dtype;
  if (!dtype || chunks.some((c) => c.dtype !== dtype)) throw new Error(`${label}: chunks are empty or mix dtypes`);
  const total = chunks.reduce((s, c) => s + c.data.byteLength, 0);
  if (total !== numel(shape as number[]) * dtypeSize(dtype)) throw new Error(`${label}: chunks hold ${total} bytes, shape ${JSON.stringify(shape)} needs ${numel(shape as number[]) * dtypeSize(dtype)}`);
  const data = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) {
    data.set(c.data, p);
    p += c.data.byteLength;
  }
  return { dtype, shape: shape as number[], data };
}

function flatten(node: unknown, path: string, out: Map<string, RawTensor>): void {
  if (node instanceof FlaxExt) {
    out.set(path, decodeArray(path, node));
  } else if (isPlainObject(node)) {
    if (node[CHUNKED_MARKER] === true) {
      out.set(path, unchunk(path, node));
      return;
    }
    for (const [k, v] of Object.entries(node)) flatten(v, path === "" ? k : `${path}.${k}`, out);
  } else if (Array.isArray(node)) {
    // Raw pytrees may keep lists; to_state_dict would have turned them into {"0": ...} dicts anyway.
    node.forEach((v, i) => flatten(v, path === "" ? String(i) : `${path}.${i}`, out));
  }
  // Other leaves (step counters, strings, None) carry no tensor and are skipped.
}

/**
 * Reads a Flax msgpack checkpoint into tensors keyed by "."-joined tree paths.
 *
 * ```ts
 * const w = readFlaxMsgpack("flax_model.msgpack");
 * w.get("text_model.embeddings.word_embeddings.embedding")?.shape; // [32000, 768]
 * ```
 */
export function readFlaxMsgpack(path: string): Map<string, RawTensor> {
  const fd = openSync(path, "r");
  let bytes: Uint8Array;
  try {
    bytes = readAt(fd, fstatSync(fd).size, 0, path);
  } finally {
    closeSync(fd);
  }
  let tree: unknown;
  try {
    tree = decode(bytes, { extensionCodec: readCodec });
  } catch (err) {
    throw new Error(`${path}: not valid msgpack (${(err as Error).message})`);
  }
  const out = new Map<string, RawTensor>();
  try {
    flatten(tree, "", out);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  return out;
}

function arrayExt(t: RawTensor, shape: number[], data: Uint8Array): ExtData {
  return new ExtData(EXT_NDARRAY, encode([shape, NUMPY_NAMES[t.dtype], data]));
}

/**
 * Writes tensors as a Flax msgpack tree, splitting each "."-joined name into nested dicts, so
 * `flax.serialization.msgpack_restore` gives back the nested params. Arrays over `maxChunkBytes`
 * (flax's 2^30 by default) use flax's chunked form. Within one dict level, integer-like keys
 * ("0", "1", ...) come first: the tree is built from JS objects. Atomic.
 *
 * ```ts
 * writeFlaxMsgpack("flax_model.msgpack", { "params.dense.kernel": float32ToRaw(k, [4, 2]) });
 * ```
 */
export function writeFlaxMsgpack(
  path: string,
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  opts: { maxChunkBytes?: number } = {},
): void {
  const maxChunk = opts.maxChunkBytes ?? MAX_CHUNK_BYTES;
  // Null-prototype nodes, so names like "constructor" are ordinary keys.
  const tree: Record<string, unknown> = Object.create(null);
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [name, t] of entries) {
    checkRawTensor(t, `${path}: tensor '${name}'`);
    const parts = name.split(".");
    if (parts.some((p) => p === "" || p === "__proto__" || p === CHUNKED_MARKER)) throw new Error(`${path}: '${name}' cannot be a flax tree path`);
    let node: Record<string, unknown> = tree;
    for (const p of parts.slice(0, -1)) {
      const next = Object.hasOwn(node, p) ? node[p] : (node[p] = Object.create(null));
      // tree nodes are exactly the null-prototype objects made here; anything else is a leaf
      if (typeof next !== "object" || next === null || Object.getPrototypeOf(next) !== null) {
        throw new Error(`${path}: '${name}' nests under a tensor`);
      }
      node = next as Record<string, unknown>;
    }
    const leaf = parts[parts.length - 1];
    if (Object.hasOwn(node, leaf)) throw new Error(`${path}: '${name}' is both a tensor and a prefix of another name`);
    node[leaf] = t.data.byteLength > maxChunk ? chunked(t, maxChunk) : arrayExt(t, t.shape, t.data);
  }
  const bytes = encode(tree);
  writeFileAtomic(path, (fd) => writeAll(fd, bytes));
}

/** flax's `_chunk`: flat 1-D pieces of at most `maxChunk` bytes. */
function chunked(t: RawTensor, maxChunk: number): Record<string, unknown> {
  const itemSize = dtypeSize(t.dtype);
  const perChunk = Math.max(1, Math.floor(maxChunk / itemSize));
  const n = numel(t.shape);
  const chunks: Record<string, ExtData> = {};
  for (let i = 0, c = 0; i < n; i += perChunk, c++) {
    const m = Math.min(perChunk, n - i);
    chunks[String(c)] = arrayExt(t, [m], t.data.subarray(i * itemSize, (i + m) * itemSize));
  }
  return {
    [CHUNKED_MARKER]: true,
    shape: Object.fromEntries(t.shape.map((d, i) => [String(i), d])),
    chunks,
  };
}
