/** y = x Wᵀ + b, with W stored [out, in] as PyTorch and Hugging Face store it. */
import { cat, Int8Linear, tidy, type Tensor } from "../torch/index.js";
import { fanInUniform, zerosInit, type Init } from "./init.js";
import type { VarBuilder, VarStore } from "./var_store.js";

export class Linear {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** The int8 packing of weight and bias when the store's precision is int8. */
  readonly #int8: Int8Linear | null;

  /**
   * `int8: false` keeps the layer out of int8 precision (it then runs like the store's other
   * matmuls, bfloat16 under autocast): for the small last layers whose output is the embedding
   * itself (projections, poolers), where int8 would cost accuracy and save next to no time;
   * and for layers that SharedInputLinears packs together instead.
   */
  constructor(vb: VarBuilder, inDim: number, outDim: number, opts: { bias?: boolean; init?: Init; int8?: boolean } = {}) {
    const dtype = vb.store.precision === "bf16" ? "bfloat16" : undefined; // see Precision
    this.weight = vb.get([outDim, inDim], "weight", opts.init ?? fanInUniform(inDim), { dtype });
    this.bias = opts.bias === false ? null : vb.get([outDim], "bias", opts.init ? zerosInit : fanInUniform(inDim), { dtype });
    this.#int8 = vb.store.precision === "int8" && opts.int8 !== false ? vb.store.own(Int8Linear.pack(this.weight, this.bias)) : null;
    if (this.#int8) vb.store.releasePacked(this.weight); // the packing holds it; see VarStore.releasePacked
  }

  forward(x: Tensor): Tensor {
    return this.#int8 ? this.#int8.forward(x) : x.linear(this.weight, this.bias);
  }
}

/**
 * Linear layers that read the same input (attention's query, key and value). At int8 precision
 * they run as one GEMM: the input is quantised once, and one product as wide as all three
 * replaces three narrow ones (ViT-B/32 at batch 16: 3.0 → 2.2 ms per layer; RoBERTa-large
 * 2.9 → 2.5). Build the layers with `int8: false` so they are not also packed one by one. At
 * other precisions each layer runs on its own.
 *
 *   const [q, k, v] = new SharedInputLinears(vb.store, [qProj, kProj, vProj]).forward(x);
 */
export class SharedInputLinears {
  readonly layers: Linear[];
  readonly #int8: Int8Linear | null;
  /** Each layer's output width (its weight is freed once packed at int8). */
  readonly #widths: number[];

  constructor(store: VarStore, layers: Linear[]) {
    this.layers = layers;
    const biases = layers.map((l) => l.bias);
    if (biases.some((b) => b === null) && biases.some((b) => b !== null)) throw new Error("SharedInputLinears: the layers must all have biases or all have none");
    this.#int8 = store.precision === "int8"
      ? store.own(tidy(() => Int8Linear.pack(cat(layers.map((l) => l.weight), 0), biases[0] ? cat(biases as Tensor[], 0) : null)))
      : null;
    this.#widths = layers.map((l) => l.weight.size(0));
    if (this.#int8) for (const l of layers) store.releasePacked(l.weight);
  }

  /** x [..., in] → one output per layer, [..., out_i] (views into one product at int8). */
  forward(x: Tensor): Tensor[] {
    if (!this.#int8) return this.layers.map((l) => l.forward(x));
    const all = this.#int8.forward(x);
    let start = 0;
    const parts = this.#widths.map((width) => {
      const part = all.narrow(-1, start, width);
      start += width;
      return part;
    });
    all.dispose(); // the views keep the product's memory
    return parts;
  }
}
