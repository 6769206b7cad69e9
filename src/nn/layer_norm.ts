/** Layer normalisation over the last dimension, with learned scale and shift. */
import type { Tensor } from "../torch/index.js";
import { onesInit, zerosInit } from "./init.js";
import type { VarBuilder } from "./var_store.js";

export class LayerNorm {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(vb: VarBuilder, readonly dim: number, readonly eps: number) {
    this.weight = vb.get([dim], "weight", onesInit);
    this.bias = vb.get([dim], "bias", zerosInit);
  }

  forward(x: Tensor): Tensor {
    return x.layerNorm([this.dim], this.weight, this.bias, this.eps);
  }
}
