/**
 * The only importer of koclip.node. Everything above src/torch talks to Tensor, never to this.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NativeOps } from "./native_ops.generated.js";
import type { DType, Handle } from "./native_types.js";

/** Hand-written exports of native/src/core.cc. */
export interface NativeCore {
  fromBytes(bytes: Uint8Array, dtype: DType, shape: number[], device: string): Handle;
  toBytes(h: Handle): Uint8Array;
  /** Frees the slot; false if it was already free. */
  dispose(h: Handle): boolean;
  shape(h: Handle): number[];
  dtype(h: Handle): DType;
  device(h: Handle): string;
  toDevice(h: Handle, device: string): Handle;
  requiresGrad(h: Handle): boolean;
  setRequiresGrad(h: Handle, on: boolean): void;
  isLeaf(h: Handle): boolean;
  grad(h: Handle): Handle | null;
  clearGrad(h: Handle): void;
  setGrad(h: Handle, grad: Handle | null): void;
  backward(h: Handle, gradOutput: Handle | null, retainGraph: boolean): void;
  setGradEnabled(on: boolean): void;
  isGradEnabled(): boolean;
  setAutocast(device: string, enabled: boolean, dtype: DType): void;
  manualSeed(seed: number): void;
  randn(shape: number[], dtype: DType, device: string, seed: number | null): Handle;
  rand(shape: number[], dtype: DType, device: string, seed: number | null): Handle;
  setNumThreads(n: number): void;
  numThreads(): number;
  liveTensors(): number;
  accountTensor(h: Handle): void;
  setScoped(open: boolean): void;
  externalBytes(): number;
  buildInfo(): BuildInfo;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
}

/** A Linear weight packed for int8 GEMMs (an opaque External); see quantized.ts. */
export type PackedInt8Linear = object & { readonly __packedInt8Linear: unique symbol };

/** Hand-written exports of native/src/quantized.cc. */
export interface NativeQuantized {
  linearInt8Pack(weight: Handle, bias: Handle | null, viaLibtorch?: boolean): PackedInt8Linear;
  linearInt8(x: Handle, packed: PackedInt8Linear): Handle;
  linearInt8Release(packed: PackedInt8Linear): void;
  quantizedEngine(): string;
}

/** A TCPStore and a c10d process group (opaque Externals); see distributed.ts. */
export type NativeStore = object & { readonly __store: unique symbol };
export type NativeGroup = object & { readonly __processGroup: unique symbol };

/** Hand-written exports of native/src/distributed.cc (all but the first absent when built without Gloo). */
export interface NativeDistributed {
  distributedBackends(): ("gloo" | "nccl")[];
  storeCreate(host: string, port: number, isServer: boolean, timeoutMs: number): NativeStore;
  storeSet(store: NativeStore, key: string, value: string): void;
  storeGet(store: NativeStore, key: string, timeoutMs: number): string;
  storeAdd(store: NativeStore, key: string, delta: number): number;
  processGroupCreate(store: NativeStore, backend: "gloo" | "nccl", rank: number, size: number, timeoutMs: number, device: string): NativeGroup;
  processGroupRelease(group: NativeGroup): void;
  allReduce(group: NativeGroup, tensors: Handle[], op: "sum" | "max", timeoutMs: number): void;
  allGather(group: NativeGroup, tensor: Handle, timeoutMs: number): Handle[];
  broadcast(group: NativeGroup, tensor: Handle, root: number, timeoutMs: number): void;
  barrier(group: NativeGroup, timeoutMs: number): void;
}

/** Hand-written exports of native/src/resample.cc (see src/torch/resample.ts). */
export interface NativeResample {
  resampleAxisU8(src: Uint8Array, outer: number, axis: number, inner: number, first: Int32Array, count: Int32Array, weights: Int32Array, ksize: number, bits: number): Uint8Array;
}

/** What libtorch and the process run with: version, build flags, threading, malloc, BLAS kernels, CUDA. */
export interface BuildInfo {
  torchVersion: string;
  config: string;
  parallel: string;
  allocator: "jemalloc" | "glibc";
  /** OpenBLAS's kernel set ("Haswell", "Cooperlake", …) and the file it was loaded from ("" when the BLAS is not OpenBLAS). */
  openblasCore: string;
  openblasLibrary: string;
  /** Whether inference attention and quick_gelu run the addon's AVX-512 loops (KOCLIP_AVX512=0 turns them off). */
  avx512Kernels: boolean;
  /**
   * Whether float32 and int8 Linear layers call oneDNN's matmul themselves (Debian's libtorch with
   * libdnnl-dev) rather than libtorch's OpenBLAS route and quantized::linear_dynamic.
   */
  onednnMatmul: boolean;
  /** Whether attention with autograd runs the addon's per-head route (Debian's libtorch 1.13 with OpenBLAS, AVX-512). */
  trainingAttention: boolean;
  cuda: boolean;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("koclip: cannot find the package root above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

function load(): NativeCore & NativeQuantized & NativeResample & NativeDistributed & NativeOps {
  const file = process.env.KOCLIP_ADDON ?? join(packageRoot(), "build", "Release", "koclip.node");
  if (!existsSync(file)) {
    throw new Error(`koclip: native addon not built (${file} is missing). Install libtorch (apt-get install libtorch-dev ` +
      `libopenblas0-openmp) and run \`npm rebuild koclip\` (or \`npm run install\` in a checkout).`);
  }
  return createRequire(import.meta.url)(file) as NativeCore & NativeQuantized & NativeResample & NativeDistributed & NativeOps;
}

/** The loaded addon. */
export const native = load();
