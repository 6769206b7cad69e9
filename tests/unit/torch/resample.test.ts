// resampleAxisU8, the native loops of Pillow's 8-bit resampling: against a plain reference of
// its formula (both of its code paths: one line per output, and the transposed one for short
// pixels; with and without the AVX-512 kernels), Pillow's rounding and clipping, and refusal of
// taps outside the input.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { SeededRandom } from "../../../src/data/seeded.js";
import { resampleAxisU8, type AxisTaps } from "../../../src/torch/index.js";

/** out[o][j][i] = clip8((2^(bits-1) + Σ_k src[o][first[j]+k][i]·w[j·ksize+k]) >> bits), in doubles. */
function reference(src: Uint8Array, outer: number, axis: number, inner: number, t: AxisTaps, bits: number): Uint8Array {
  const n = t.first.length;
  const out = new Uint8Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < inner; i++) {
        let s = 2 ** (bits - 1);
        for (let k = 0; k < t.count[j]!; k++) s += src[(o * axis + t.first[j]! + k) * inner + i]! * t.weights[j * t.ksize + k]!;
        out[(o * n + j) * inner + i] = Math.min(255, Math.max(0, Math.floor(s / 2 ** bits)));
      }
    }
  }
  return out;
}

function randomTaps(rng: SeededRandom, axis: number, n: number, ksize: number): AxisTaps {
  const first = new Int32Array(n), count = new Int32Array(n), weights = new Int32Array(n * ksize);
  for (let j = 0; j < n; j++) {
    count[j] = rng.int(1, Math.min(ksize, axis));
    first[j] = rng.int(0, axis - count[j]!);
    // Negative lobes included, so sums go below 0 and above 255 and both clips are exercised.
    for (let k = 0; k < count[j]!; k++) weights[j * ksize + k] = Math.round((rng.next() * 1.6 - 0.4) * (1 << 22) / count[j]!);
  }
  return { first, count, weights, ksize };
}

test("resampleAxisU8 equals its formula on random inputs, for RGB rows (transposed path) and for long lines", () => {
  const rng = new SeededRandom("resample");
  // Lines of 64+ outputs (the AVX-512 loop's four vectors), 16–63 and a few left over; more RGB
  // rows than one strip of 32 (the last pixel of each transposed line moves on its own).
  for (const [outer, axis, inner, n, ksize] of [[7, 13, 3, 5, 4], [1, 40, 31, 17, 9], [3, 9, 1, 12, 3], [2, 50, 6, 50, 1], [1, 30, 200, 17, 9], [40, 30, 3, 11, 6], [33, 21, 3, 64, 5]] as const) {
    const src = Uint8Array.from({ length: outer * axis * inner }, () => rng.int(0, 255));
    const taps = randomTaps(rng, axis, n, ksize);
    assert.deepEqual(resampleAxisU8(src, outer, axis, inner, taps, 22), reference(src, outer, axis, inner, taps, 22), `${outer}x${axis}x${inner} -> ${n}`);
  }
});

// The AVX-512 loops are taken where the CPU has them; the portable loops otherwise, or with
// KOCLIP_AVX512=0: the test above in a process where they are off.
test("resampleAxisU8 without the AVX-512 kernels", { skip: process.env.KOCLIP_AVX512 === "0" && "this process is that run" }, () => {
  const self = new URL(import.meta.url).pathname;
  const { NODE_TEST_CONTEXT: _, ...env } = process.env; // a plain run of the file, not a child of this runner
  const run = spawnSync(process.execPath, ["--test", "--test-reporter", "tap", "--test-name-pattern", "equals its formula", self], { env: { ...env, KOCLIP_AVX512: "0" }, encoding: "utf8" });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /# pass 1/);
});

test("resampleAxisU8 rounds half up after the fixed-point sum, as Pillow", () => {
  const half = 1 << 21; // 0.5 in 22-bit fixed point
  const taps = { first: Int32Array.of(0, 2), count: Int32Array.of(2, 2), weights: Int32Array.of(half, half, half, half), ksize: 2 };
  // (10 + 20) / 2 = 15; (30 + 41) / 2 = 35.5 rounds to 36.
  assert.deepEqual([...resampleAxisU8(Uint8Array.of(10, 20, 30, 41), 1, 4, 1, taps, 22)], [15, 36]);
});

test("resampleAxisU8 refuses taps outside the input and mismatched lengths with a RangeError", () => {
  const src = new Uint8Array(4 * 3);
  const taps = (first: number, count: number): AxisTaps => ({ first: Int32Array.of(first), count: Int32Array.of(count), weights: Int32Array.of(1, 1), ksize: 2 });
  assert.throws(() => resampleAxisU8(src, 1, 4, 3, taps(3, 2), 22), /taps of output 0 fall outside the input/);
  assert.throws(() => resampleAxisU8(src, 1, 4, 3, taps(-1, 1), 22), RangeError);
  assert.throws(() => resampleAxisU8(src, 1, 4, 3, { ...taps(0, 3) }, 22), RangeError); // more taps than ksize
  assert.throws(() => resampleAxisU8(src, 2, 4, 3, taps(0, 1), 22), /src length/);
  assert.throws(() => resampleAxisU8(src, 1, 4, 3, { ...taps(0, 1), weights: Int32Array.of(1) }, 22), /disagree in length/);
  assert.throws(() => resampleAxisU8(src, 1, 4.5, 3, taps(0, 1), 22), /argument 2: expected an integer/); // not truncated to 4
  assert.throws(() => resampleAxisU8(src, 2 ** 32 + 1, 4, 3, taps(0, 1), 22), /argument 1 out of range/); // not wrapped to 1
});

test("resampleAxisU8 takes canvas bytes (Uint8ClampedArray) and refuses typed arrays of other types", () => {
  const taps = { first: Int32Array.of(0), count: Int32Array.of(1), weights: Int32Array.of(1 << 22), ksize: 1 };
  assert.deepEqual([...resampleAxisU8(Uint8ClampedArray.of(7, 8, 9) as unknown as Uint8Array, 1, 1, 3, taps, 22)], [7, 8, 9]);
  assert.throws(() => resampleAxisU8(new Uint16Array(3) as unknown as Uint8Array, 1, 1, 3, taps, 22), TypeError);
  assert.throws(() => resampleAxisU8(new Uint8Array(3), 1, 1, 3, { ...taps, weights: Float32Array.of(1) as unknown as Int32Array }, 22), TypeError);
});
