/**
 * Builds an ONNX graph (opset 17) node by node, with one method per layer kind of src/nn (Linear,
 * LayerNorm, activations, multi-head attention), reading each layer's weights from the module.
 * The tower emitters in towers.ts compose these the way the models' forward methods compose the
 * layers.
 *
 *   const g = new GraphBuilder("text_model", "fp32");
 *   const ids = g.input("input_ids", DataType.INT64, ["batch_size", "sequence_length"]);
 *   g.output(g.linear(g.gather(table, ids), projection), "text_embeds", DataType.FLOAT, ["batch_size", 512]);
 *   writeOnnx("text_model.onnx", g.encode());
 */
import type { Activation, LayerNorm, Linear } from "../../nn/index.js";
import type { Tensor } from "../../torch/index.js";
import { DataType, encodeModel, type Attribute, type DataTypeCode, type NodeProto, type TensorProto, type ValueInfo } from "./proto.js";

export const OPSET = 17;
/** The IR version ONNX pairs with opset 17 (onnx/docs/Versioning.md). */
const IR_VERSION = 8;

/** fp32, or int8: the encoder layers' matrix products dynamically quantised (MatMulInteger). */
export type ExportPrecision = "fp32" | "int8";
export const EXPORT_PRECISIONS = ["fp32", "int8"] as const;

/** The most negative float32: what masked attention scores become (finite, so no NaN). */
const MASKED_SCORE = -3.4028234663852886e38;
/** Zero point of the uint8 weights: symmetric quantisation stored unsigned (see linear). */
const WEIGHT_ZERO_POINT = 128;

/** Attribute constructors. */
export const attr = {
  int: (value: number): Attribute => ({ kind: "int", value }),
  float: (value: number): Attribute => ({ kind: "float", value }),
  ints: (value: number[]): Attribute => ({ kind: "ints", value }),
};

function bytesOf(a: Float32Array | BigInt64Array | Uint8Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Wᵀ of a [rows, cols] row-major matrix, as [cols, rows]. */
function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

export class GraphBuilder {
  readonly #nodes: NodeProto[] = [];
  readonly #initializers: TensorProto[] = [];
  readonly #inputs: ValueInfo[] = [];
  readonly #outputs: ValueInfo[] = [];
  readonly #scalars = new Map<string, string>();
  #counter = 0;

  /** `precision` decides how `linear` emits layers marked quantisable. */
  constructor(readonly name: string, readonly precision: ExportPrecision) {}

  /** A fresh value name under `prefix`. */
  #fresh(prefix: string): string {
    return `${prefix}_${this.#counter++}`;
  }

  input(name: string, elemType: DataTypeCode, shape: (number | string)[]): string {
    this.#inputs.push({ name, elemType, shape });
    return name;
  }

  /** Declares `value` a graph output under `name` (through an Identity, so any value can be one). */
  output(value: string, name: string, elemType: DataTypeCode, shape: (number | string)[]): void {
    this.op("Identity", [value], {}, name);
    this.#outputs.push({ name, elemType, shape });
  }

  /** Adds one node; returns its (first) output's name. */
  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, output?: string): string {
    const out = output ?? this.#fresh(opType);
    this.#nodes.push({ opType, inputs, outputs: [out], name: `${opType}_${this.#nodes.length}`, attributes });
    return out;
  }

  /** A node with several outputs. */
  opMulti(opType: string, inputs: string[], outputs: number, attributes: Record<string, Attribute> = {}): string[] {
    const outs = Array.from({ length: outputs }, () => this.#fresh(opType));
    this.#nodes.push({ opType, inputs, outputs: outs, name: `${opType}_${this.#nodes.length}`, attributes });
    return outs;
  }

  /** An initializer named `name` (made unique) holding `data` with `dims`; `data` is kept, not copied. */
  constant(name: string, dataType: DataTypeCode, dims: number[], data: Float32Array | BigInt64Array | Uint8Array | Int32Array): string {
    const unique = this.#fresh(name);
    this.#initializers.push({ name: unique, dataType, dims, raw: bytesOf(data) });
    return unique;
  }

  /** A float32 tensor's values as an initializer. */
  weight(name: string, t: Tensor, dims: number[] = t.shape): string {
    return this.constant(name, DataType.FLOAT, dims, t.toFloat32Array());
  }

  /** A float32 scalar (or, with `dims`, a one-element tensor of that shape), shared by value. */
  float(value: number, dims: number[] = []): string {
    const key = `f${value}:${dims}`;
    let name = this.#scalars.get(key);
    if (!name) this.#scalars.set(key, name = this.constant("float", DataType.FLOAT, dims, Float32Array.of(value)));
    return name;
  }

  /** An int64 vector (or scalar with `scalar`), shared by value. */
  ints(values: number[], scalar = false): string {
    const key = `i${values}:${scalar}`;
    let name = this.#scalars.get(key);
    if (!name) this.#scalars.set(key, name = this.constant("int64", DataType.INT64, scalar ? [] : [values.length], BigInt64Array.from(values, BigInt)));
    return name;
  }

  /** Size of dimension `axis` of `x`, an int64 scalar. */
  dim(x: string, axis: number): string {
    return this.op("Gather", [this.op("Shape", [x]), this.ints([axis], true)], { axis: attr.int(0) });
  }

  /** 0, 1, …, n − 1 (int64) for an int64 scalar `n`. */
  range(n: string): string {
    return this.op("Range", [this.ints([0], true), n, this.ints([1], true)]);
  }

  unsqueeze(x: string, axes: number[]): string {
    return this.op("Unsqueeze", [x, this.ints(axes)]);
  }

  /** Slice `index` of `axis`, the axis removed (a tensor's select). */
  select(x: string, axis: number, index: number): string {
    return this.op("Gather", [x, this.ints([index], true)], { axis: attr.int(axis) });
  }

  /**
   * y = x Wᵀ + b. With `quantise` and int8 precision the product is ONNX Runtime's dynamic
   * quantisation pattern: the input quantised per tensor to uint8 at run time
   * (DynamicQuantizeLinear), the weight per output column ahead of time, MatMulInteger, then the
   * two scales. The weight is symmetric (max |column| ↦ 127) but stored as uint8 around zero point
   * 128: MLAS's uint8×int8 kernel on AVX2 sums pairs of products in int16 and can saturate, its
   * uint8×uint8 kernel cannot.
   */
  linear(x: string, layer: Linear, prefix: string, quantise = false): string {
    const [out, inDim] = layer.weight.shape as [number, number];
    const wT = transposed(layer.weight.toFloat32Array(), out, inDim); // [in, out]
    let y: string;
    if (quantise && this.precision === "int8") {
      const scales = new Float32Array(out);
      for (let i = 0; i < inDim; i++) for (let o = 0; o < out; o++) scales[o] = Math.max(scales[o]!, Math.abs(wT[i * out + o]!));
      for (let o = 0; o < out; o++) scales[o] = scales[o]! / 127 || 1; // an all-zero column: any scale
      const q = new Uint8Array(wT.length);
      for (let i = 0; i < inDim; i++) for (let o = 0; o < out; o++) q[i * out + o] = Math.round(wT[i * out + o]! / scales[o]!) + WEIGHT_ZERO_POINT;
      const [xq, xScale, xZero] = this.opMulti("DynamicQuantizeLinear", [x], 3) as [string, string, string];
      const wq = this.constant(`${prefix}.weight_quantized`, DataType.UINT8, [inDim, out], q);
      const wZero = this.constant(`${prefix}.weight_zero_point`, DataType.UINT8, [], Uint8Array.of(WEIGHT_ZERO_POINT));
      const acc = this.op("MatMulInteger", [xq, wq, xZero, wZero]);
      const scale = this.op("Mul", [xScale, this.constant(`${prefix}.weight_scale`, DataType.FLOAT, [out], scales)]);
      y = this.op("Mul", [this.op("Cast", [acc], { to: attr.int(DataType.FLOAT) }), scale]);
    } else {
      y = this.op("MatMul", [x, this.constant(`${prefix}.weight`, DataType.FLOAT, [inDim, out], wT)]);
    }
    return layer.bias ? this.op("Add", [y, this.weight(`${prefix}.bias`, layer.bias)]) : y;
  }

  layerNorm(x: string, norm: LayerNorm, prefix: string): string {
    return this.op("LayerNormalization", [x, this.weight(`${prefix}.weight`, norm.weight), this.weight(`${prefix}.bias`, norm.bias)], {
      axis: attr.int(-1),
      epsilon: attr.float(norm.eps),
    });
  }

  /** The activations of src/nn/activation.ts (opset 17 has no Gelu op, so GELU is written out). */
  activation(x: string, act: Activation): string {
    switch (act) {
      case "gelu": // 0.5·x·(1 + erf(x/√2))
        return this.op("Mul", [this.op("Mul", [x, this.float(0.5)]), this.op("Add", [this.op("Erf", [this.op("Div", [x, this.float(Math.SQRT2)])]), this.float(1)])]);
      case "gelu_new": case "gelu_pytorch_tanh": { // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        const cube = this.op("Mul", [this.op("Mul", [x, x]), x]);
        const inner = this.op("Mul", [this.op("Add", [x, this.op("Mul", [cube, this.float(0.044715)])]), this.float(Math.sqrt(2 / Math.PI))]);
        return this.op("Mul", [this.op("Mul", [x, this.float(0.5)]), this.op("Add", [this.op("Tanh", [inner]), this.float(1)])]);
      }
      case "quick_gelu": // x·σ(1.702x)
        return this.op("Mul", [x, this.op("Sigmoid", [this.op("Mul", [x, this.float(1.702)])])]);
      case "relu":
        return this.op("Relu", [x]);
    }
  }

  /** A boolean "may attend" mask → additive scores: 0 where allowed, the float32 minimum elsewhere. */
  additiveMask(allowed: string): string {
    return this.op("Where", [allowed, this.float(0), this.float(MASKED_SCORE)]);
  }

  /** The [B, 1, 1, T] "may attend" mask of a [B, T] int64 attention_mask (keyPaddingMask in src/nn). */
  keyPaddingMask(attentionMask: string): string {
    return this.unsqueeze(this.op("Cast", [attentionMask], { to: attr.int(DataType.BOOL) }), [1, 2]);
  }

  /**
   * softmax(q kᵀ/√d + mask) v per head, then the output projection (multiHeadAttention in
   * src/nn). x [B, T, D]; `mask` additive [B, 1, 1|T, T] or null → [B, T, D].
   */
  selfAttention(x: string, p: { query: Linear; key: Linear; value: Linear; out: Linear }, heads: number, mask: string | null, prefix: string): string {
    const width = p.query.weight.size(0);
    const headDim = width / heads;
    const split = (y: string, perm: number[]) =>
      this.op("Transpose", [this.op("Reshape", [y, this.ints([0, 0, heads, headDim])])], { perm: attr.ints(perm) });
    const q = split(this.linear(x, p.query, `${prefix}.query`, true), [0, 2, 1, 3]); // [B, H, T, d]
    const kT = split(this.linear(x, p.key, `${prefix}.key`, true), [0, 2, 3, 1]); // [B, H, d, T]
    const v = split(this.linear(x, p.value, `${prefix}.value`, true), [0, 2, 1, 3]); // [B, H, T, d]
    let scores = this.op("Mul", [this.op("MatMul", [q, kT]), this.float(1 / Math.sqrt(headDim))]); // [B, H, T, T]
    if (mask) scores = this.op("Add", [scores, mask]);
    const ctx = this.op("MatMul", [this.op("Softmax", [scores], { axis: attr.int(-1) }), v]); // [B, H, T, d]
    const merged = this.op("Reshape", [this.op("Transpose", [ctx], { perm: attr.ints([0, 2, 1, 3]) }), this.ints([0, 0, width])]); // [B, T, D]
    return this.linear(merged, p.out, `${prefix}.out`, true);
  }

  /** Serialised ModelProto, as parts to write in order (see encodeModel). */
  encode(docString?: string): Uint8Array[] {
    return encodeModel({
      irVersion: IR_VERSION,
      opsetVersion: OPSET,
      producerName: "koclip",
      producerVersion: "0.1.0",
      docString,
      graph: { name: this.name, nodes: this.#nodes, initializers: this.#initializers, inputs: this.#inputs, outputs: this.#outputs },
    });
  }
}
