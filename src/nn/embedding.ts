/** A lookup table: integer ids [..] → rows [.., dim]. */
import type { Tensor } from "../torch/index.js";
import { normalInit, type Init } from "./init.js";
import type { VarBuilder } from "./var_store.js";

export class Embedding {
  readonly weight: Tensor;

  constructor(vb: VarBuilder, count: number, readonly dim: number, opts: { init?: Init } = {}) {
    this.weight = vb.get([count, dim], "weight", opts.init ?? normalInit(1));
  }

  forward(ids: Tensor): Tensor {
    return this.weight.embedding(ids);
  }
}
