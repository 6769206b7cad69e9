/** y = x Wᵀ + b, with W stored [out, in] as PyTorch and Hugging Face store it. */
import { Int8Linear, type Tensor } from "../torch/index.js";
import { fanInUniform, zerosInit, type Init } from "./init.js";
import type { VarBuilder } from "./var_store.js";

export class Linear {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** The int8 packing of weight and bias when the store's precision is int8. */
  readonly #int8: Int8Linear | null;

  /**
   * `int8: false` keeps the layer out of int8 precision (it then runs like the store's other
   * matmuls, bfloat16 under autocast): for the small last layers whose output is the embedding
   * itself (projections, poolers), where int8 would cost accuracy and save next to no time.
   */
  constructor(vb: VarBuilder, inDim: number, outDim: number, opts: { bias?: boolean; init?: Init; int8?: boolean } = {}) {
    const dtype = vb.store.precision === "bf16" ? "bfloat16" : undefined; // see Precision
    this.weight = vb.get([outDim, inDim], "weight", opts.init ?? fanInUniform(inDim), { dtype });
    this.bias = opts.bias === false ? null : vb.get([outDim], "bias", opts.init ? zerosInit : fanInUniform(inDim), { dtype });
    this.#int8 = vb.store.precision === "int8" && opts.int8 !== false ? vb.store.own(Int8Linear.pack(this.weight, this.bias)) : null;
  }

  forward(x: Tensor): Tensor {
    return this.#int8 ? this.#int8.forward(x) : x.linear(this.weight, this.bias);
  }
}
