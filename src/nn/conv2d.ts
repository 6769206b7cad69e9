/** 2-D convolution, weight [out, in, kH, kW] (CLIP and ViT use it as the patch embedding). */
import type { Tensor } from "../torch/index.js";
import { fanInUniform, type Init } from "./init.js";
import type { VarBuilder } from "./var_store.js";

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  init?: Init;
}

export class Conv2d {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;

  constructor(vb: VarBuilder, inChannels: number, outChannels: number, kernel: number, opts: Conv2dOptions = {}) {
    const fanIn = inChannels * kernel * kernel;
    const dtype = vb.store.precision === "bf16" ? "bfloat16" : undefined; // see Precision
    this.weight = vb.get([outChannels, inChannels, kernel, kernel], "weight", opts.init ?? fanInUniform(fanIn), { dtype });
    this.bias = opts.bias === false ? null : vb.get([outChannels], "bias", fanInUniform(fanIn), { dtype });
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
  }

  forward(x: Tensor): Tensor {
    return x.conv2d(this.weight, this.bias, [this.stride, this.stride], [this.padding, this.padding]);
  }
}
