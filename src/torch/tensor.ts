/**
 * Tensor: a JS handle on one libtorch tensor. Ops are methods (generated from gen/ops.mjs into
 * ops.generated.ts) and free functions; memory is released by `dispose()`, `using`, or `tidy`.
 *
 *   const x = tensor([1, 2, 3, 4], { shape: [2, 2] });
 *   x.matmul(x).toArray();   // [7, 10, 15, 22]
 */
import { native } from "./native.js";
import type { DType, Handle } from "./native_types.js";
import { setOwnershipHooks, setTensorGuard, track } from "./scope.js";

export type { DType } from "./native_types.js";

/** Typed arrays accepted as tensor data, with the dtype each maps to by default. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

const ITEM_BYTES: Record<DType, number> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** Where tensors live: "cpu", "cuda" or "cuda:N". */
export type Device = string;

// The GC backstop for tensors nobody disposed. Disposed tensors unregister, so they leave nothing
// behind (callbacks run only when the event loop turns, so they must not be the main mechanism).
const collected = new FinalizationRegistry<Handle>((h) => native.dispose(h));

export class Tensor implements Disposable {
  #handle: Handle | null;
  #shape: number[] | null = null;

  private constructor(handle: Handle) {
    this.#handle = handle;
    collected.register(this, handle, this);
    track(this);
  }

  /** Wraps a handle fresh from the addon; the innermost `tidy` scope takes ownership. */
  static adopt(handle: Handle): Tensor {
    return new Tensor(handle);
  }

  /** The native handle; throws if this tensor was disposed. */
  get handle(): Handle {
    if (this.#handle === null) throw new Error("tensor was disposed");
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /** Releases the libtorch tensor now. Safe to call twice. Views and grads hold their own references. */
  dispose(): void {
    if (this.#handle === null) return;
    collected.unregister(this);
    native.dispose(this.#handle);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  get shape(): number[] {
    // Shapes only change through ops that return new tensors, so caching is safe.
    this.#shape ??= native.shape(this.handle);
    return this.#shape.slice();
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Size of one dimension; negative counts from the end. */
  size(dim: number): number {
    const s = this.shape;
    const d = dim < 0 ? s.length + dim : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size(${dim}): tensor has ${s.length} dimensions`);
    return s[d]!;
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get dtype(): DType {
    return native.dtype(this.handle);
  }

  get device(): Device {
    return native.device(this.handle);
  }

  /** Copy on `device` (a new tensor, also when already there). */
  to(device: Device): Tensor {
    return Tensor.adopt(native.toDevice(this.handle, device));
  }

  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }

  set requiresGrad(on: boolean) {
    native.setRequiresGrad(this.handle, on);
  }

  /** Marks this tensor as a leaf that collects gradients. Returns `this`. */
  requireGrad(on = true): this {
    native.setRequiresGrad(this.handle, on);
    return this;
  }

  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }

  /** The accumulated gradient, as a new handle on the same storage (dispose it when done), or null. */
  get grad(): Tensor | null {
    const h = native.grad(this.handle);
    return h === null ? null : Tensor.adopt(h);
  }

  /** Installs `g` (same shape) as this leaf's gradient; null forgets it. */
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }

  /** Forgets the accumulated gradient (PyTorch's zero_grad(set_to_none=True)). */
  clearGrad(): void {
    native.clearGrad(this.handle);
  }

  /** Backpropagates from this tensor (a scalar unless `gradOutput` is given). */
  backward(gradOutput?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    native.backward(this.handle, gradOutput ? gradOutput.handle : null, opts.retainGraph ?? false);
  }

  /** Raw little-endian bytes of a contiguous CPU copy. */
  toBytes(): Uint8Array {
    return native.toBytes(this.handle);
  }

  /** Data as the typed array matching the dtype (float16/bfloat16 come back as raw Uint16Array bits). */
  toTypedArray(): TensorData {
    const bytes = this.toBytes();
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    switch (this.dtype) {
      case "float32": return new Float32Array(buf);
      case "float64": return new Float64Array(buf);
      case "int64": return new BigInt64Array(buf);
      case "int32": return new Int32Array(buf);
      case "int16": return new Int16Array(buf);
      case "int8": return new Int8Array(buf);
      case "float16": case "bfloat16": return new Uint16Array(buf);
      case "uint8": case "bool": return new Uint8Array(buf);
    }
  }

  /** Values converted to float32 (any dtype, any device). */
  toFloat32Array(): Float32Array {
    if (this.dtype === "float32") return this.toTypedArray() as Float32Array;
    const h = native.to_dtype(this.handle, "float32");
    try {
      const bytes = native.toBytes(h);
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    } finally {
      native.dispose(h);
    }
  }

  /** Flat values as JS numbers (int64 converted, precision permitting). */
  toArray(): number[] {
    const data = this.dtype === "float16" || this.dtype === "bfloat16" ? this.toFloat32Array() : this.toTypedArray();
    return Array.from(data as ArrayLike<number | bigint>, Number);
  }

  toString(): string {
    if (this.#handle === null) return "Tensor(disposed)";
    return `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, device=${this.device})`;
  }
}

setTensorGuard((v: unknown): v is Tensor => v instanceof Tensor);
setOwnershipHooks({
  scopesOpen: (open) => native.setScoped(open),
  unowned: (t) => {
    if (!t.isDisposed) native.accountTensor(t.handle);
  },
});

/** Options for creating a tensor. */
export interface CreateOptions {
  shape?: number[];
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

function defaultDType(data: TensorData | number[]): DType {
  if (Array.isArray(data) || data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Uint8Array) return "uint8";
  throw new TypeError("tensor: Uint16Array data needs dtype 'float16' or 'bfloat16'");
}

function numbersAs(values: number[], dtype: DType): TensorData {
  switch (dtype) {
    case "float32": return Float32Array.from(values);
    case "float64": return Float64Array.from(values);
    case "int64": return BigInt64Array.from(values, (v) => BigInt(Math.trunc(v)));
    case "int32": return Int32Array.from(values);
    case "int16": return Int16Array.from(values);
    case "int8": return Int8Array.from(values);
    case "uint8": case "bool": return Uint8Array.from(values, (v) => (dtype === "bool" ? (v ? 1 : 0) : v));
    case "float16": case "bfloat16":
      throw new TypeError(`tensor: build ${dtype} tensors from float32 data and convert with toDtype`);
  }
}

function flatten(data: unknown, shape: number[], out: number[], depth: number): void {
  if (Array.isArray(data)) {
    if (shape.length === depth) shape.push(data.length);
    else if (shape[depth] !== data.length) throw new RangeError(`tensor: ragged nested array at depth ${depth}`);
    for (const d of data) flatten(d, shape, out, depth + 1);
  } else if (typeof data === "number" || typeof data === "boolean") {
    if (shape.length !== depth) throw new RangeError(`tensor: ragged nested array at depth ${depth}`);
    out.push(Number(data));
  } else throw new TypeError(`tensor: unsupported element ${String(data)}`);
}

/**
 * Creates a tensor from a typed array, a flat number array (with `shape`) or nested arrays.
 *
 *   tensor([[1, 2], [3, 4]]).shape          // [2, 2]
 *   tensor(new BigInt64Array([1n, 2n])).dtype // "int64"
 */
export function tensor(data: TensorData | number[] | number[][] | number[][][] | number, opts: CreateOptions = {}): Tensor {
  let flat: TensorData | number[];
  let shape = opts.shape;
  if (typeof data === "number") {
    flat = [data];
    shape ??= [];
  } else if (Array.isArray(data) && data.some((d) => Array.isArray(d))) {
    const inferred: number[] = [];
    const values: number[] = [];
    flatten(data, inferred, values, 0);
    flat = values;
    shape ??= inferred;
  } else {
    flat = data as TensorData | number[];
    shape ??= [flat.length];
  }
  const dtype = opts.dtype ?? defaultDType(flat);
  const typed = Array.isArray(flat) ? numbersAs(flat, dtype) : flat;
  if (!Array.isArray(flat) && opts.dtype && typed.BYTES_PER_ELEMENT !== ITEM_BYTES[dtype]) {
    throw new TypeError(`tensor: ${typed.constructor.name} data cannot be read as ${dtype}`);
  }
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  const t = Tensor.adopt(native.fromBytes(bytes, dtype, shape, opts.device ?? "cpu"));
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Builds a tensor straight from raw little-endian bytes (e.g. a safetensors entry). */
export function fromBytes(bytes: Uint8Array, dtype: DType, shape: number[], device: Device = "cpu"): Tensor {
  return Tensor.adopt(native.fromBytes(bytes, dtype, shape, device));
}

/** Options for random tensors: a `seed` uses a private generator, so results don't depend on other draws. */
export interface RandomOptions {
  dtype?: DType;
  device?: Device;
  seed?: number;
}

/** Standard-normal samples. */
export function randn(shape: number[], opts: RandomOptions = {}): Tensor {
  return Tensor.adopt(native.randn(shape, opts.dtype ?? "float32", opts.device ?? "cpu", opts.seed ?? null));
}

/** Uniform samples in [0, 1). */
export function rand(shape: number[], opts: RandomOptions = {}): Tensor {
  return Tensor.adopt(native.rand(shape, opts.dtype ?? "float32", opts.device ?? "cpu", opts.seed ?? null));
}

/** Seeds libtorch's global generator (dropout, init, unseeded randn). */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

