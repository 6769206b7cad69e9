/**
 * Large pixel buffers that the caller fills completely. `new Float32Array(n)` zero-fills through
 * calloc, and jemalloc (preloaded by bin/koclip-node for libtorch) zeroes large blocks by handing
 * their pages back to the kernel, so each page faulted in again on first write: a 1 MB array cost
 * 3.4 ms here instead of 0.13, which was a third of preparing a photo for the model.
 */

/** `n` uninitialised float32s in an ArrayBuffer of their own (transferable to a worker). */
export function uninitializedFloat32(n: number): Float32Array {
  const bytes = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, n);
}
