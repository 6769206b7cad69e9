/**
 * Dynamically quantised int8 linear layers (PyTorch's quantize_dynamic for nn.Linear): the weight
 * is quantised once per output channel (symmetric, scale = max|row| / 127) and packed for the
 * quantised engine; every call quantises its input on the fly from its min/max (per row where the
 * addon calls oneDNN itself, `buildInfo().onednnMatmul`; per tensor on libtorch's route), runs an
 * int8 GEMM and returns float32. On CPUs with AVX-512 VNNI or AMX these GEMMs run several
 * times faster than float32 ones.
 *
 *   const q = Int8Linear.pack(weight, bias);   // weight [out, in] float
 *   const y = q.forward(x);                    // ≈ x.linear(weight, bias), float32
 *   q.dispose();
 */
import { native, type PackedInt8Linear } from "./native.js";
import { Tensor } from "./tensor.js";

export class Int8Linear implements Disposable {
  #packed: PackedInt8Linear | null;

  private constructor(packed: PackedInt8Linear) {
    this.#packed = packed;
  }

  /**
   * Quantises and packs `weight` [out, in] (and keeps `bias` [out] in float32). Where the addon
   * calls oneDNN itself (Debian's libtorch with libdnnl-dev) it does; `viaLibtorch` keeps
   * libtorch's quantized::linear_dynamic instead, for comparisons.
   */
  static pack(weight: Tensor, bias: Tensor | null, opts: { viaLibtorch?: boolean } = {}): Int8Linear {
    return new Int8Linear(native.linearInt8Pack(weight.handle, bias?.handle ?? null, opts.viaLibtorch ?? false));
  }

  /** x [..., in] (float; other dtypes are cast) → [..., out] float32. */
  forward(x: Tensor): Tensor {
    if (this.#packed === null) throw new Error("Int8Linear was disposed");
    return Tensor.adopt(native.linearInt8(x.handle, this.#packed));
  }

  /** Frees the packed weight now. Safe to call twice. */
  dispose(): void {
    if (this.#packed !== null) native.linearInt8Release(this.#packed);
    this.#packed = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The quantised engine int8 layers run on ("ONEDNN", "X86", "FBGEMM", "QNNPACK"), or "none". */
export function quantizedEngine(): string {
  return native.quantizedEngine();
}
