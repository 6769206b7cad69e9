/**
 * One pass of Pillow's fixed-point 8-bit resampling, in C++ (native/src/resample.cc). The image
 * layer (src/image/resample.ts) computes the filter's taps and weights and calls this for the
 * horizontal and the vertical pass.
 */
import { native } from "./native.js";

/** Per output index along the resampled axis: first input index, number of taps, weights. */
export interface AxisTaps {
  readonly first: Int32Array; // [n]
  readonly count: Int32Array; // [n]
  readonly weights: Int32Array; // [n * ksize], fixed point with `bits` fractional bits
  readonly ksize: number;
}

/**
 * Resamples the middle axis of `src`, a `[outer, axis, inner]` byte array, to `n = first.length`:
 *   out[o][j][i] = clip8((2^(bits-1) + Σ_k src[o][first[j] + k][i] · weights[j·ksize + k]) >> bits)
 * with int32 sums, as Pillow does. A horizontal pass over RGB rows is `[rows, width, 3]`; a
 * vertical one is `[1, height, width * 3]`. Taps reaching outside the input throw a RangeError.
 */
export function resampleAxisU8(src: Uint8Array, outer: number, axis: number, inner: number, taps: AxisTaps, bits: number): Uint8Array {
  return native.resampleAxisU8(src, outer, axis, inner, taps.first, taps.count, taps.weights, taps.ksize, bits);
}
