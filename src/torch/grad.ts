/**
 * Gradient mode. libtorch keeps it per thread; all our tensor work runs on the JS thread.
 *
 *   const emb = noGrad(() => model.encodeImage(pixels));     // no graph is recorded
 *   { using _g = noGradGuard(); ... }                         // same, for a block
 */
import { native } from "./native.js";

/** Runs `fn` with gradient recording off, restoring the previous mode afterwards. */
export function noGrad<T>(fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs `fn` with gradient recording on (inside a noGrad region, for example). */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Turns gradient recording off until the returned guard is disposed (bind it with `using`). */
export function noGradGuard(): Disposable {
  const prev = native.isGradEnabled();
  native.setGradEnabled(false);
  return { [Symbol.dispose]: () => native.setGradEnabled(prev) };
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/**
 * Runs `fn` under autocast: matmul-heavy ops compute in `dtype` (bfloat16 by default), others stay
 * float32. On CPU this reaches oneDNN's AMX kernels; on CUDA, tensor cores.
 */
export function autocast<T>(device: "cpu" | "cuda", fn: () => T, dtype: "bfloat16" | "float16" = "bfloat16"): T {
  native.setAutocast(device, true, dtype);
  try {
    return fn();
  } finally {
    native.setAutocast(device, false, dtype);
  }
}
