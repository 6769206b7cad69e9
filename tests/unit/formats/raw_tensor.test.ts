/** dtype decoding and f32 → f16/bf16 rounding, checked against torch's own conversions. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkRawTensor, dtypeSize, float32ToRaw, isDType, numel, rawToFloat32, type RawTensor } from "../../../src/formats/index.js";
import { SMALL } from "./small_fixture.js";

const bitsToF32 = (bits: number[]) => new Float32Array(new Int32Array(bits).buffer);
const u16 = (t: RawTensor) => Array.from(new Uint16Array(t.data.slice().buffer));

test("float32ToRaw rounds to nearest even exactly like torch .half() and .bfloat16()", () => {
  const { f32, f16, bf16 } = SMALL.conversions;
  const x = bitsToF32(f32);
  const half = u16(float32ToRaw(x, [x.length], "F16"));
  const brain = u16(float32ToRaw(x, [x.length], "BF16"));
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) {
      // torch's vectorised bf16 path writes 0xffff for NaN, its scalar path 0x7fc0; any NaN will do.
      assert.ok(Number.isNaN(rawToFloat32({ dtype: "F16", shape: [], data: new Uint8Array(new Uint16Array([half[i]]).buffer) })[0]));
      assert.ok(Number.isNaN(rawToFloat32({ dtype: "BF16", shape: [], data: new Uint8Array(new Uint16Array([brain[i]]).buffer) })[0]));
      continue;
    }
    assert.equal(half[i], f16[i] & 0xffff, `f16 of ${x[i]} (case ${i})`);
    assert.equal(brain[i], bf16[i] & 0xffff, `bf16 of ${x[i]} (case ${i})`);
  }
});

test("f16 and bf16 decode exactly, including subnormals, infinities and -0", () => {
  const halves = [0x3c00, 0x0001, 0x03ff, 0x0400, 0x7bff, 0xfc00, 0x7c00, 0x8000, 0xc000, 0x3555];
  const want = [1, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, -Infinity, Infinity, -0, -2, Math.fround(0.333251953125)];
  const t: RawTensor = { dtype: "F16", shape: [halves.length], data: new Uint8Array(new Uint16Array(halves).buffer) };
  assert.deepEqual(Array.from(rawToFloat32(t)), want);
  assert.ok(Number.isNaN(rawToFloat32({ dtype: "F16", shape: [1], data: new Uint8Array([0x00, 0x7e]) })[0]));
  const b: RawTensor = { dtype: "BF16", shape: [3], data: new Uint8Array(new Uint16Array([0x3f80, 0xc0a0, 0x0001]).buffer) };
  assert.deepEqual(Array.from(rawToFloat32(b)), [1, -5, 2 ** -133]);
  // round trip is the identity on values that fit
  const v = new Float32Array([0, -0, 1.5, -2.25, 65504, 2 ** -24]);
  assert.deepEqual(Array.from(rawToFloat32(float32ToRaw(v, [6], "F16"))), Array.from(v));
});

test("rawToFloat32 decodes every dtype, also from unaligned views", () => {
  const cases: [RawTensor, number[]][] = [
    [{ dtype: "F64", shape: [2], data: new Uint8Array(new Float64Array([0.5, -1e10]).buffer) }, [0.5, -1e10]],
    [{ dtype: "I64", shape: [2], data: new Uint8Array(new BigInt64Array([-3n, 1n << 40n]).buffer) }, [-3, 2 ** 40]],
    [{ dtype: "I32", shape: [2], data: new Uint8Array(new Int32Array([-7, 7]).buffer) }, [-7, 7]],
    [{ dtype: "I16", shape: [2], data: new Uint8Array(new Int16Array([-300, 300]).buffer) }, [-300, 300]],
    [{ dtype: "I8", shape: [2], data: new Uint8Array([0xff, 5]) }, [-1, 5]],
    [{ dtype: "U8", shape: [2], data: new Uint8Array([0xff, 5]) }, [255, 5]],
    [{ dtype: "BOOL", shape: [3], data: new Uint8Array([0, 1, 2]) }, [0, 1, 1]],
    [{ dtype: "F32", shape: [2, 1], data: new Uint8Array(new Float32Array([1.25, -8]).buffer) }, [1.25, -8]],
  ];
  for (const [t, want] of cases) {
    assert.deepEqual(Array.from(rawToFloat32(t)), want, t.dtype);
    // the same bytes one byte into a bigger buffer
    const shifted = new Uint8Array(t.data.byteLength + 1);
    shifted.set(t.data, 1);
    assert.deepEqual(Array.from(rawToFloat32({ ...t, data: shifted.subarray(1) })), want, `${t.dtype} unaligned`);
  }
  assert.throws(() => rawToFloat32({ dtype: "F32", shape: [3], data: new Uint8Array(8) }), /needs 12 bytes, got 8/);
});

test("float32ToRaw copies, checks the shape, and helpers agree", () => {
  const src = new Float32Array([1, 2, 3, 4]);
  const t = float32ToRaw(src, [2, 2]);
  src[0] = 99;
  assert.deepEqual(Array.from(rawToFloat32(t)), [1, 2, 3, 4]);
  assert.throws(() => float32ToRaw(src, [3]), /has 3 elements but data has 4/);
  assert.equal(numel([]), 1);
  assert.equal(numel([2, 0, 5]), 0);
  assert.equal(dtypeSize("BF16"), 2);
  assert.ok(isDType("BOOL") && !isDType("U16") && !isDType("toString"));
  assert.throws(() => checkRawTensor({ dtype: "F32", shape: [2.5], data: new Uint8Array(0) }, "x"), /x: shape \[2\.5\]/);
  assert.throws(() => checkRawTensor({ dtype: "Q" as never, shape: [], data: new Uint8Array(0) }, "x"), /x: unknown dtype 'Q'/);
});
