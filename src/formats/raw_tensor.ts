/**
 * The currency of `src/formats/`: a named tensor as plain bytes, before any tensor library sees it.
 *
 * Every reader in this folder produces `RawTensor`s and every writer consumes them, so a checkpoint
 * can move between safetensors, torch zip-pickle and flax msgpack without libtorch. Bytes are
 * always little-endian and C-contiguous; readers copy strided or big-endian data into that form.
 */

/** Element types the readers understand; spelled as safetensors spells them. */
export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/**
 * A dense tensor as bytes.
 *
 * ```ts
 * const t: RawTensor = { dtype: "F32", shape: [2], data: new Uint8Array(new Float32Array([1, 2]).buffer) };
 * rawToFloat32(t); // Float32Array [1, 2]
 * ```
 */
export interface RawTensor {
  dtype: DType;
  shape: number[];
  /** Little-endian, C-contiguous, exactly `numel(shape) * dtypeSize(dtype)` bytes. */
  data: Uint8Array;
}

const ITEM_SIZE: Record<DType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** All supported dtypes, e.g. for error messages listing the choices. */
export const DTYPES = Object.keys(ITEM_SIZE) as DType[];

// Readers hand out views of file bytes as typed arrays; on a big-endian host those would be wrong
// silently, so refuse to load rather than decode garbage. (Node runs little-endian everywhere we ship.)
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("koclip formats: big-endian hosts are not supported");
}

/** Bytes per element: `dtypeSize("BF16")` → 2. */
export function dtypeSize(dtype: DType): number {
  return ITEM_SIZE[dtype];
}

/** Type guard for strings read from files: `isDType("F32")` → true, `isDType("U16")` → false. */
export function isDType(s: unknown): s is DType {
  return typeof s === "string" && Object.prototype.hasOwnProperty.call(ITEM_SIZE, s);
}

/** Element count of a shape; `[]` (a scalar) has one element. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Checks the `RawTensor` invariants (valid dtype, integer dims, byte length) and throws an error
 * naming `what` otherwise. Writers call it so a bad tensor fails before a file is half written.
 */
export function checkRawTensor(t: RawTensor, what: string): void {
  if (!isDType(t.dtype)) throw new Error(`${what}: unknown dtype '${String(t.dtype)}' (expected one of ${DTYPES.join(", ")})`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${what}: shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`);
  }
  const want = numel(t.shape) * ITEM_SIZE[t.dtype];
  if (!(t.data instanceof Uint8Array) || t.data.byteLength !== want) {
    throw new Error(`${what}: ${t.dtype}${JSON.stringify(t.shape)} needs ${want} bytes but data has ${t.data?.byteLength}`);
  }
}

// ---- half-precision bit conversions -------------------------------------------------------

let f16Table: Float32Array | undefined;

/** All 65536 half values, built once: a table lookup beats bit fiddling per element. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      // zero or subnormal: mant * 2^-24, exact in f32
      table[h] = (sign ? -1 : 1) * mant * 2 ** -24;
    } else if (exp === 31) {
      bits[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf or NaN, payload kept
    } else {
      bits[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // rebias 15 -> 127
    }
  }
  f16Table = table;
  return table;
}

/** f32 bit pattern → f16 bit pattern, rounding to nearest, ties to even (as torch's `.half()`). */
function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // NaN stays NaN (quiet)
  const e = exp - 112; // f16 biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Result is subnormal (or rounds up to the smallest normal, which the carry encodes correctly).
    if (e < -10) return sign; // below half the smallest subnormal: rounds to ±0
    const full = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = full & ((1 << shift) - 1);
    let m = full >>> shift;
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is right, up to inf
  return sign | h;
}

/** f32 bit pattern → bf16 bit pattern, round to nearest even; NaN kept quiet rather than rounded to inf. */
function f32BitsToBf16(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** A typed view of `t.data`, copying first if the bytes are not aligned for the element type. */
function aligned(data: Uint8Array, itemSize: number): { buffer: ArrayBufferLike; byteOffset: number } {
  if (data.byteOffset % itemSize === 0) return { buffer: data.buffer, byteOffset: data.byteOffset };
  const copy = data.slice();
  return { buffer: copy.buffer, byteOffset: 0 };
}

/**
 * Decodes any dtype to float32 (ints convert exactly up to 2^24, as in `tensor.float()`).
 *
 * ```ts
 * rawToFloat32(float32ToRaw(new Float32Array([0.1]), [1], "BF16")); // Float32Array [0.10009765625]
 * ```
 */
export function rawToFloat32(t: RawTensor): Float32Array {
  const n = numel(t.shape);
  const size = ITEM_SIZE[t.dtype];
  if (size === undefined) throw new Error(`rawToFloat32: unknown dtype '${String(t.dtype)}'`);
  if (t.data.byteLength !== n * size) {
    throw new Error(`rawToFloat32: ${t.dtype}${JSON.stringify(t.shape)} needs ${n * size} bytes, got ${t.data.byteLength}`);
  }
  const { buffer, byteOffset } = aligned(t.data, size);
  switch (t.dtype) {
    case "F32":
      return new Float32Array(buffer.slice(byteOffset, byteOffset + n * 4));
    case "F64":
      return Float32Array.from(new Float64Array(buffer, byteOffset, n));
    case "F16": {
      const table = halfTable();
      const src = new Uint16Array(buffer, byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[src[i]];
      return out;
    }
    case "BF16": {
      const src = new Uint16Array(buffer, byteOffset, n);
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return out;
    }
    case "I64": {
      const src = new BigInt64Array(buffer, byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(src[i]);
      return out;
    }
    case "I32":
      return Float32Array.from(new Int32Array(buffer, byteOffset, n));
    case "I16":
      return Float32Array.from(new Int16Array(buffer, byteOffset, n));
    case "I8":
      return Float32Array.from(new Int8Array(buffer, byteOffset, n));
    case "U8":
      return Float32Array.from(new Uint8Array(buffer, byteOffset, n));
    case "BOOL": {
      const src = new Uint8Array(buffer, byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] !== 0 ? 1 : 0;
      return out;
    }
  }
}

/**
 * Packs float32 values as F32, F16 or BF16 bytes (round to nearest, ties to even). Always copies,
 * so later writes to `data` do not leak into the tensor.
 *
 * ```ts
 * float32ToRaw(new Float32Array([1, 2, 3, 4]), [2, 2], "F16").data.byteLength; // 8
 * ```
 */
export function float32ToRaw(data: Float32Array, shape: number[], dtype: "F32" | "F16" | "BF16" = "F32"): RawTensor {
  if (numel(shape) !== data.length) {
    throw new Error(`float32ToRaw: shape ${JSON.stringify(shape)} has ${numel(shape)} elements but data has ${data.length}`);
  }
  const bits = new Uint32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  if (dtype === "F32") return { dtype, shape: [...shape], data: new Uint8Array(bits.buffer) };
  const out = new Uint16Array(data.length);
  const convert = dtype === "F16" ? f32BitsToF16 : f32BitsToBf16;
  for (let i = 0; i < bits.length; i++) out[i] = convert(bits[i]);
  return { dtype, shape: [...shape], data: new Uint8Array(out.buffer) };
}
