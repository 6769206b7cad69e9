/**
 * Large pixel buffers that the caller fills completely. `new Float32Array(n)` zero-fills through
 * calloc, and jemalloc (preloaded by bin/koclip-node for libtorch) zeroes large blocks by handing
 * their pages back to the kernel, so each page faulted in again on first write: a 1 MB array cost
 * 3.4 ms here instead of 0.13, which was a third of preparing a photo for the model. The
 * training loader's per-image scratch (compose.ts, drawOutline) faulted 21,000 pages a batch
 * the same way: 1.0 s to build a 256-image batch, 0.24 s without the zero-fill.
 */

/** `n` uninitialised float32s in an ArrayBuffer of their own (transferable to a worker). */
export function uninitializedFloat32(n: number): Float32Array {
  const bytes = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, n);
}

/** `n` uninitialised float64s (scratch space a loop overwrites entirely). */
export function uninitializedFloat64(n: number): Float64Array {
  const bytes = Buffer.allocUnsafeSlow(n * 8);
  return new Float64Array(bytes.buffer, bytes.byteOffset, n);
}

/** `n` uninitialised bytes, as a plain Uint8Array. */
export function uninitializedBytes(n: number): Uint8Array {
  const bytes = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, n);
}
