/** Process-wide libtorch settings and facts: threads, CUDA, build, live tensor count. */
import { native, type BuildInfo } from "./native.js";

/** Intra-op threads libtorch uses (all cores by default; KOCLIP_NUM_THREADS overrides at load). */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export function numThreads(): number {
  return native.numThreads();
}

/** Whether a CUDA device is usable (the addon was built against a CUDA libtorch and sees a GPU). */
export function cudaAvailable(): boolean {
  return native.cudaDeviceCount() > 0;
}

/** Waits for queued CUDA work (for timing); a no-op on CPU builds. */
export function cudaSynchronize(): void {
  native.cudaSynchronize();
}

/** Tensors alive in the addon right now: created and neither disposed nor collected. */
export function liveTensors(): number {
  return native.liveTensors();
}

/**
 * Bytes of tensor memory reported to V8 as external memory: tensors no `tidy` scope owns (made
 * outside any, kept, or returned from the outermost one), which only the GC backstop would free
 * if nobody disposed them.
 */
export function externalBytes(): number {
  return native.externalBytes();
}

/** libtorch version and build configuration (BLAS, oneDNN, OpenMP), as libtorch reports it. */
export function buildInfo(): BuildInfo {
  return native.buildInfo();
}
