/**
 * Parameters by checkpoint name (candle's VarMap + VarBuilder, tch's VarStore + Path).
 * A layer asks `vb.get([out, in], "weight", init)`; the store either loads that exact name from the
 * checkpoint or creates it with `init`, and remembers it, so loading is a path lookup, saving writes
 * the same names back, and the optimizer gets every parameter from one map.
 *
 *   const store = VarStore.fromSource(source, { file: "model.safetensors" });
 *   const proj = new Linear(store.root.pp("visual_projection"), 768, 512, { bias: false });
 *   store.assertAllUsed();     // throws, listing checkpoint tensors no layer asked for
 */
import type { RawTensor } from "../formats/raw_tensor.js";
import { keep, noGrad, zeros, type Device, type DType, type Tensor } from "../torch/index.js";
import { applyInit, type Init } from "./init.js";
import { tensorFromRaw, torchDType } from "./raw.js";

/** Where pretrained tensors come from: a name → RawTensor lookup (a safetensors file, a converted .bin, …). */
export interface TensorSource {
  keys(): Iterable<string>;
  get(name: string): RawTensor | undefined;
}

/** A TensorSource over an in-memory map. */
export function mapSource(map: Map<string, RawTensor>): TensorSource {
  return { keys: () => map.keys(), get: (n) => map.get(n) };
}

/**
 * How the Linear and Conv2d layers built on a store compute; anything but fp32 is for inference.
 * - "fp32": in the store's dtype (float32 unless told otherwise).
 * - "bf16": their weights are held in bfloat16 and the model must run under `autocast`, so matrix
 *   products take bfloat16 kernels (oneDNN with AVX-512 BF16 or AMX on CPUs, tensor cores on
 *   CUDA) while norms, softmax and the residual stream stay float32.
 * - "int8" (CPU): Linear layers and patchify convolutions (ViT's patch embedding) run dynamically
 *   quantised int8 GEMMs (weights per output channel, activations per row at each call; see
 *   Int8Linear). Meant to run under `autocast` too, so the other matrix products (other
 *   convolutions; attention's, except on Debian's libtorch 1.13, whose float32 inference route
 *   is faster) take bfloat16 kernels; norms and the residual stream stay float32. The float32
 *   weights stay in the store (for saving).
 */
export const PRECISIONS = ["fp32", "bf16", "int8"] as const;
export type Precision = (typeof PRECISIONS)[number];

export interface VarStoreOptions {
  device?: Device;
  /** dtype parameters are created or converted to (float32 by default). */
  dtype?: DType;
  /** Whether parameters record gradients (true for training). */
  trainable?: boolean;
  /** Names the checkpoint in errors. */
  file?: string;
  /**
   * Parameters the source may lack, created from their inits instead (e.g. the projections when
   * a dual encoder starts from two pretrained towers). Everything else missing is an error.
   */
  initMissing?: (name: string) => boolean;
  /** How matrix-product layers compute (default fp32); see Precision. */
  precision?: Precision;
}

export class VarStore {
  /** Every parameter by full dotted name, in creation order. */
  readonly vars = new Map<string, Tensor>();
  readonly device: Device;
  readonly dtype: DType;
  readonly trainable: boolean;
  readonly file: string;
  readonly precision: Precision;
  readonly #source: TensorSource | null;
  readonly #used = new Set<string>();
  readonly #initMissing: (name: string) => boolean;
  readonly #owned: { dispose(): void }[] = [];
  readonly #released = new Set<string>();
  /** Parameters created from their init because the source lacked them (see initMissing). */
  readonly initialized: string[] = [];

  private constructor(source: TensorSource | null, opts: VarStoreOptions) {
    this.#source = source;
    this.device = opts.device ?? "cpu";
    this.dtype = opts.dtype ?? "float32";
    this.trainable = opts.trainable ?? false;
    this.file = opts.file ?? "checkpoint";
    this.precision = opts.precision ?? "fp32";
    if (this.trainable && this.precision !== "fp32") throw new Error(`${this.file}: precision ${this.precision} is for inference; trainable parameters need fp32`);
    if (this.precision === "int8" && this.device !== "cpu") throw new Error(`${this.file}: precision int8 runs on the CPU only (device ${this.device})`);
    this.#initMissing = opts.initMissing ?? (() => false);
  }

  /** A store whose parameters are created from their inits (training from scratch). */
  static fresh(opts: VarStoreOptions = {}): VarStore {
    return new VarStore(null, { trainable: true, ...opts });
  }

  /** A store that loads every parameter from `source` and fails on any missing one. */
  static fromSource(source: TensorSource, opts: VarStoreOptions = {}): VarStore {
    return new VarStore(source, opts);
  }

  get root(): VarBuilder {
    return new VarBuilder(this, []);
  }

  /** Loads or creates the variable `name` (used by VarBuilder). */
  variable(name: string, shape: number[], init: Init, opts: { dtype?: DType } = {}): Tensor {
    if (this.#released.has(name)) throw new Error(`${this.file}: '${name}' was freed once its int8 packing replaced it (see releasePacked)`);
    const existing = this.vars.get(name);
    if (existing) {
      if (existing.shape.join() !== shape.join()) {
        throw new Error(`${this.file}: '${name}' requested as [${shape}] but already created as [${existing.shape}]`);
      }
      return existing;
    }
    const dtype = opts.dtype ?? this.dtype;
    let t: Tensor;
    const raw = this.#source?.get(name);
    if (this.#source && (raw || !this.#initMissing(name))) {
      if (!raw) throw new Error(`${this.file}: missing tensor '${name}' (expected shape [${shape}])`);
      if (raw.shape.join() !== shape.join()) {
        throw new Error(`${this.file}: tensor '${name}' has shape [${raw.shape}] but the config implies [${shape}]`);
      }
      this.#used.add(name);
      t = noGrad(() => {
        const loaded = tensorFromRaw(raw, this.device);
        if (loaded.dtype === dtype || !isFloat(torchDType(raw.dtype))) return loaded;
        const cast = loaded.toDtype(dtype);
        loaded.dispose();
        return cast;
      });
    } else {
      t = zeros(shape, dtype, this.device);
      applyInit(t, init);
      if (this.#source) this.initialized.push(name);
    }
    keep(t); // parameters outlive any tidy scope they are built in
    if (this.trainable && isFloat(t.dtype)) t.requiresGrad = true;
    this.vars.set(name, t);
    return t;
  }

  /** Whether the checkpoint has `name` (for optional tensors such as logit_scale). */
  hasInSource(name: string): boolean {
    return this.#source?.get(name) !== undefined;
  }

  /** Checkpoint tensors that no layer asked for. */
  unusedSourceKeys(): string[] {
    if (!this.#source) return [];
    return [...this.#source.keys()].filter((k) => !this.#used.has(k));
  }

  /** Strict loading: fails naming every checkpoint tensor that no layer used. */
  assertAllUsed(ignore: (name: string) => boolean = () => false): void {
    const unused = this.unusedSourceKeys().filter((k) => !ignore(k));
    if (unused.length) {
      const shown = unused.slice(0, 8).join(", ") + (unused.length > 8 ? `, … (${unused.length} in all)` : "");
      throw new Error(`${this.file}: unexpected tensors not used by the model: ${shown}`);
    }
  }

  /** Moves every parameter to training (gradients on) or inference mode. */
  setTrainable(on: boolean): void {
    for (const t of this.vars.values()) if (isFloat(t.dtype)) t.requiresGrad = on;
  }

  /** Ties `d` to the parameters' lifetime: `dispose()` frees it too (e.g. a layer's packed int8 weight). Returns `d`. */
  own<D extends { dispose(): void }>(d: D): D {
    this.#owned.push(d);
    return d;
  }

  /**
   * Frees `param`, one of this store's parameters, once an int8 packing holds its values: an
   * int8 model then keeps its Linear weights once, as int8, instead of also as float32 (ViT-B/32
   * at int8 used 919 MB of RSS before this, 568 MB after; fp32 711 MB). Inference stores only;
   * a store with freed parameters cannot be saved (see `released`).
   */
  releasePacked(param: Tensor): void {
    if (this.trainable) throw new Error(`${this.file}: a trainable store keeps its parameters (releasePacked is for int8 inference)`);
    for (const [name, t] of this.vars) {
      if (t !== param) continue;
      this.vars.delete(name);
      this.#released.add(name);
      t.dispose();
      return;
    }
    throw new Error(`${this.file}: releasePacked was given a tensor that is not a parameter of this store`);
  }

  /** Names of the parameters freed by releasePacked, in order. */
  get released(): readonly string[] {
    return [...this.#released];
  }

  /** Frees every parameter, and what the store owns. */
  dispose(): void {
    for (const t of this.vars.values()) t.dispose();
    this.vars.clear();
    for (const d of this.#owned.splice(0)) d.dispose();
  }
}

function isFloat(d: DType): boolean {
  return d === "float32" || d === "float16" || d === "bfloat16" || d === "float64";
}

/** A VarStore seen from one prefix; `pp` descends, `get` fetches `prefix.name`. */
export class VarBuilder {
  constructor(readonly store: VarStore, readonly path: readonly string[]) {}

  /** Pushes a path segment, e.g. `vb.pp("encoder").pp("layers").pp(3)`. */
  pp(segment: string | number): VarBuilder {
    const s = String(segment);
    if (s.includes(".") || s === "") throw new Error(`VarBuilder: bad path segment '${s}'`);
    return new VarBuilder(this.store, [...this.path, s]);
  }

  /** Full dotted name of `name` under this prefix. */
  nameOf(name: string): string {
    return [...this.path, name].join(".");
  }

  get(shape: number[], name: string, init: Init, opts?: { dtype?: DType }): Tensor {
    return this.store.variable(this.nameOf(name), shape, init, opts);
  }

  /** Whether the checkpoint has this tensor; when building fresh, always false. */
  has(name: string): boolean {
    return this.store.hasInSource(this.nameOf(name));
  }
}
