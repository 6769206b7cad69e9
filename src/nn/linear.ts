/** y = x Wᵀ + b, with W stored [out, in] as PyTorch and Hugging Face store it. */
import type { Tensor } from "../torch/index.js";
import { fanInUniform, zerosInit, type Init } from "./init.js";
import type { VarBuilder } from "./var_store.js";

export class Linear {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(vb: VarBuilder, inDim: number, outDim: number, opts: { bias?: boolean; init?: Init } = {}) {
    const dtype = vb.store.precision === "bf16" ? "bfloat16" : undefined; // see Precision
    this.weight = vb.get([outDim, inDim], "weight", opts.init ?? fanInUniform(inDim), { dtype });
    this.bias = opts.bias === false ? null : vb.get([outDim], "bias", opts.init ? zerosInit : fanInUniform(inDim), { dtype });
  }

  forward(x: Tensor): Tensor {
    return x.linear(this.weight, this.bias);
  }
}
