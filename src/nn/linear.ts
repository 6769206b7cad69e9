/** y = x Wᵀ + b, with W stored [out, in] as PyTorch and Hugging Face store it. */
import { Int8Linear, type Tensor } from "../torch/index.js";
import { fanInUniform, zerosInit, type Init } from "./init.js";
import type { VarBuilder } from "./var_store.js";

export class Linear {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** The int8 packing of weight and bias when the store's precision is int8. */
  readonly #int8: Int8Linear | null;

  constructor(vb: VarBuilder, inDim: number, outDim: number, opts: { bias?: boolean; init?: Init } = {}) {
    const dtype = vb.store.precision === "bf16" ? "bfloat16" : undefined; // see Precision
    this.weight = vb.get([outDim, inDim], "weight", opts.init ?? fanInUniform(inDim), { dtype });
    this.bias = opts.bias === false ? null : vb.get([outDim], "bias", opts.init ? zerosInit : fanInUniform(inDim), { dtype });
    this.#int8 = vb.store.precision === "int8" ? vb.store.own(Int8Linear.pack(this.weight, this.bias)) : null;
  }

  forward(x: Tensor): Tensor {
    return this.#int8 ? this.#int8.forward(x) : x.linear(this.weight, this.bias);
  }
}
