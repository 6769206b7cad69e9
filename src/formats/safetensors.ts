/**
 * safetensors: an 8-byte little-endian header length, a JSON header mapping names to
 * `{dtype, shape, data_offsets}`, then the raw data section. Spec and reference writer:
 * https://github.com/huggingface/safetensors (safetensors/src/tensor.rs, `prepare` and `validate`).
 *
 * The writer reproduces the Rust crate byte for byte (tensors ordered by descending dtype rank, then
 * name; compact JSON; header padded with spaces to 8 bytes), so a file read and written back is
 * identical to what `safetensors.torch.save_file` produced. The reader checks the header fully before
 * touching data, and every error is one line that names the file and the tensor.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkRawTensor, DTYPES, dtypeSize, isDType, numel, type DType, type RawTensor } from "./raw_tensor.js";
import { readAt, writeAll, writeFileAtomic } from "./file_io.js";

/** Where one tensor lives in a safetensors file; offsets are relative to the data section. */
export interface SafetensorsTensorInfo {
  dtype: DType;
  shape: number[];
  dataOffsets: [number, number];
}

// The Rust crate refuses headers above 100 MB; a bigger one is a corrupt length, not a real model.
const MAX_HEADER_BYTES = 100_000_000;

// Order of the Rust `Dtype` enum ("increasing alignment"); the writer sorts by it, descending, so the
// 8-byte types come first and every tensor stays aligned within the data section.
const RUST_DTYPE_RANK: Record<DType, number> = {
  BOOL: 0, U8: 1, I8: 2, I16: 5, F16: 7, BF16: 8, I32: 9, F32: 11, F64: 12, I64: 13,
};

/**
 * Validates a parsed header against the data section size. Exported for the tests and for callers
 * that already hold a header; `label` starts every error message (normally the file path).
 */
export function parseSafetensorsHeader(
  label: string,
  header: unknown,
  dataSize: number,
): { tensors: Map<string, SafetensorsTensorInfo>; metadata: Record<string, string> | undefined } {
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new Error(`${label}: header is not a JSON object`);
  }
  let metadata: Record<string, string> | undefined;
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(label, value);
      continue;
    }
    tensors.set(name, parseEntry(label, name, value, dataSize));
  }
  checkOverlaps(label, tensors);
  return { tensors, metadata };
}

function parseMetadata(label: string, value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${label}: __metadata__ is not an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== "string") throw new Error(`${label}: __metadata__['${k}'] is ${JSON.stringify(v)}, not a string`);
    out[k] = v;
  }
  return out;
}

function parseEntry(label: string, name: string, value: unknown, dataSize: number): SafetensorsTensorInfo {
  const where = `${label}: tensor '${name}'`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${where} has no {dtype, shape, data_offsets} entry`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDType(dtype)) {
    throw new Error(`${where} has unsupported dtype ${JSON.stringify(dtype)} (supported: ${DTYPES.join(", ")})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${where} has invalid shape ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw new Error(`${where} has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const want = numel(shape) * dtypeSize(dtype);
  if (end - begin !== want) {
    throw new Error(`${where} is ${dtype}${JSON.stringify(shape)} = ${want} bytes but data_offsets ${begin}..${end} span ${end - begin}`);
  }
  if (end > dataSize) {
    throw new Error(`${where} needs bytes ${begin}..${end} but the file's data section has ${dataSize} (truncated?)`);
  }
  return { dtype, shape: shape as number[], dataOffsets: [begin, end] };
}

function checkOverlaps(label: string, tensors: Map<string, SafetensorsTensorInfo>): void {
  const spans = [...tensors].filter(([, t]) => t.dataOffsets[1] > t.dataOffsets[0]);
  spans.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
  for (let i = 1; i < spans.length; i++) {
    const [pn, p] = spans[i - 1];
    const [cn, c] = spans[i];
    if (c.dataOffsets[0] < p.dataOffsets[1]) {
      throw new Error(
        `${label}: tensors '${pn}' (bytes ${p.dataOffsets[0]}..${p.dataOffsets[1]}) and '${cn}' (bytes ${c.dataOffsets[0]}..${c.dataOffsets[1]}) overlap`,
      );
    }
  }
}

/**
 * A safetensors file opened lazily: the header is read and validated up front, each tensor's bytes
 * only when asked for. Close it (or `using f = openSafetensors(p)`) to release the descriptor.
 *
 * ```ts
 * using f = openSafetensors("model.safetensors");
 * f.keys().length;            // 79
 * f.get("logit_scale").shape; // []
 * ```
 */
export class SafetensorsFile {
  /** `__metadata__` from the header, or undefined when the file has none. */
  readonly metadata: Record<string, string> | undefined;
  private fd: number | undefined;
  private readonly tensors: Map<string, SafetensorsTensorInfo>;
  private readonly dataStart: number;

  /** Use `openSafetensors(path)`. */
  constructor(readonly path: string) {
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      if (size < 8) throw new Error(`${path}: file is ${size} bytes, too short to hold the 8-byte header length`);
      const n = Buffer.from(readAt(fd, 8, 0, path)).readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER_BYTES)) throw new Error(`${path}: header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
      const headerLen = Number(n);
      if (8 + headerLen > size) throw new Error(`${path}: header length ${headerLen} runs past the end of the ${size}-byte file`);
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(readAt(fd, headerLen, 8, path));
      } catch {
        throw new Error(`${path}: header is not valid UTF-8`);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new Error(`${path}: header is not valid JSON (${(err as Error).message})`);
      }
      const { tensors, metadata } = parseSafetensorsHeader(path, json, size - 8 - headerLen);
      this.tensors = tensors;
      this.metadata = metadata;
      this.dataStart = 8 + headerLen;
      this.fd = fd;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Tensor names, sorted (the order Python's `safe_open(...).keys()` gives). */
  keys(): string[] {
    return [...this.tensors.keys()].sort();
  }

  /** Whether the file holds a tensor called `name`. */
  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** dtype, shape and offsets of `name` without reading its data. */
  info(name: string): SafetensorsTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.path}: no tensor named '${name}'`);
    return t;
  }

  /** Reads one tensor's bytes from disk (a fresh, aligned buffer each call). */
  get(name: string): RawTensor {
    const { dtype, shape, dataOffsets } = this.info(name);
    if (this.fd === undefined) throw new Error(`${this.path}: file is closed`);
    const [begin, end] = dataOffsets;
    return { dtype, shape: [...shape], data: readAt(this.fd, end - begin, this.dataStart + begin, `${this.path}: tensor '${name}'`) };
  }

  /** Releases the file descriptor; later `get` calls throw. Safe to call twice. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Opens a safetensors file lazily (see `SafetensorsFile`). */
export function openSafetensors(path: string): SafetensorsFile {
  return new SafetensorsFile(path);
}

/**
 * Reads every tensor of a safetensors file, keys sorted by name.
 *
 * ```ts
 * const w = readSafetensors(fixture("clip-tiny", "model", "model.safetensors"));
 * w.get("logit_scale"); // { dtype: "F32", shape: [], data: Uint8Array(4) }
 * ```
 */
export function readSafetensors(path: string): Map<string, RawTensor> {
  using f = openSafetensors(path);
  const out = new Map<string, RawTensor>();
  for (const name of f.keys()) out.set(name, f.get(name));
  return out;
}

/** Byte-wise UTF-8 order, which is how Rust compares `String`s (JS `<` compares UTF-16 units). */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * Writes tensors as safetensors, atomically (temp file + rename). Layout matches the Rust crate:
 * tensors sorted by descending dtype rank then name, header padded with spaces to a multiple of 8.
 * `metadata` becomes `__metadata__` (keys sorted); omit it to write none, as `save_file` does.
 *
 * ```ts
 * writeSafetensors("out.safetensors", { w: float32ToRaw(new Float32Array(4), [2, 2]) }, { format: "pt" });
 * ```
 */
export function writeSafetensors(
  path: string,
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  metadata?: Record<string, string>,
): void {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new Error(`${path}: '__metadata__' is reserved and cannot name a tensor`);
    checkRawTensor(t, `${path}: tensor '${name}'`);
  }
  entries.sort(([an, a], [bn, b]) => RUST_DTYPE_RANK[b.dtype] - RUST_DTYPE_RANK[a.dtype] || compareUtf8(an, bn));

  // Built by hand rather than JSON.stringify(object) so key order is exactly the order above.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    for (const k of keys) {
      if (typeof metadata[k] !== "string") throw new Error(`${path}: metadata '${k}' must be a string`);
    }
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(",")}}`);
  }
  let offset = 0;
  for (const [name, t] of entries) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(",")}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  let header = Buffer.from(`{${parts.join(",")}}`, "utf8");
  const pad = (8 - (header.byteLength % 8)) % 8;
  if (pad) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.byteLength));

  writeFileAtomic(path, (fd) => {
    writeAll(fd, prefix);
    writeAll(fd, header);
    for (const [, t] of entries) writeAll(fd, t.data);
  });
}

/** `model.safetensors.index.json` of a sharded checkpoint, with shard names resolved to paths. */
export interface SafetensorsIndex {
  /** The index's `metadata` object (usually `{ total_size }`), untouched. */
  metadata: Record<string, unknown>;
  /** Tensor name → absolute path of the shard holding it. */
  weightMap: Map<string, string>;
  /** Absolute shard paths, each once, in order of first appearance. */
  shards: string[];
}

/**
 * Reads the shard index of a sharded model directory.
 *
 * ```ts
 * const idx = readSafetensorsIndex("models/big");
 * idx.shards; // [".../model-00001-of-00002.safetensors", ".../model-00002-of-00002.safetensors"]
 * ```
 */
export function readSafetensorsIndex(dir: string, indexName = "model.safetensors.index.json"): SafetensorsIndex {
  const path = join(dir, indexName);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`${path}: cannot read index (${(err as Error).message})`);
  }
  const { metadata, weight_map: weightMap } = (json ?? {}) as Record<string, unknown>;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new Error(`${path}: no "weight_map" object`);
  }
  const map = new Map<string, string>();
  const shards: string[] = [];
  for (const [name, file] of Object.entries(weightMap as Record<string, unknown>)) {
    // Shard names come from a downloaded file: keep them inside `dir`.
    if (typeof file !== "string" || file === "" || /[\\/]/.test(file) || file === "." || file === "..") {
      throw new Error(`${path}: weight_map['${name}'] = ${JSON.stringify(file)} is not a plain file name`);
    }
    const shard = join(dir, file);
    if (!shards.includes(shard)) shards.push(shard);
    map.set(name, shard);
  }
  const meta = typeof metadata === "object" && metadata !== null && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : {};
  return { metadata: meta, weightMap: map, shards };
}

/**
 * Reads every tensor of a sharded checkpoint. Fails if a shard is missing, if the index names a
 * tensor its shard lacks, or if two shards hold the same name: a silent partial load is worse.
 */
export function readShardedSafetensors(dir: string, indexName = "model.safetensors.index.json"): Map<string, RawTensor> {
  const index = readSafetensorsIndex(dir, indexName);
  const out = new Map<string, RawTensor>();
  const from = new Map<string, string>();
  for (const shard of index.shards) {
    if (!existsSync(shard)) throw new Error(`${join(dir, indexName)}: shard ${shard} is missing`);
    using f = openSafetensors(shard);
    for (const name of f.keys()) {
      const prev = from.get(name);
      if (prev !== undefined) throw new Error(`${shard}: tensor '${name}' is also in ${prev}`);
      from.set(name, shard);
      out.set(name, f.get(name));
    }
  }
  for (const [name, shard] of index.weightMap) {
    if (from.get(name) !== shard) {
      throw new Error(`${join(dir, indexName)}: index puts '${name}' in ${shard}, but ${from.has(name) ? `it is in ${from.get(name)}` : "no shard has it"}`);
    }
  }
  return out;
}
