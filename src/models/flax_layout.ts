/**
 * Flax checkpoints (koclip-base / koclip-large were trained with the FlaxHybridCLIP example) name
 * and lay out parameters differently from PyTorch. This adapter, and nothing else, translates:
 *   Dense `kernel` [in, out]        → `weight` [out, in]
 *   Conv  `kernel` [kH, kW, in, out] (HWIO) → `weight` [out, in, kH, kW]
 *   LayerNorm `scale` → `weight`;  Embed `embedding` → `weight`
 *   FlaxCLIPVisionModule nests its transformer: `vision_model.vision_model.` → `vision_model.`
 * (the rules Hugging Face's Flax↔PyTorch conversion applies).
 */
import { dtypeSize, type RawTensor } from "../formats/index.js";

/** Copies `t` with its dimensions permuted (out[i…] = in[perm applied]), any dtype. */
export function permuteRaw(t: RawTensor, perm: number[]): RawTensor {
  const inShape = t.shape;
  const outShape = perm.map((p) => inShape[p]!);
  const item = dtypeSize(t.dtype);
  const inStrides = new Array<number>(inShape.length);
  let s = 1;
  for (let d = inShape.length - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= inShape[d]!;
  }
  const strideOfOut = perm.map((p) => inStrides[p]!);
  const out = new Uint8Array(t.data.length);
  const idx = new Array<number>(outShape.length).fill(0);
  const total = s;
  for (let o = 0; o < total; o++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += idx[d]! * strideOfOut[d]!;
    out.set(t.data.subarray(src * item, src * item + item), o * item);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { dtype: t.dtype, shape: outShape, data: out };
}

const VISION_NESTED = "vision_model.vision_model.";

/** Flax parameter tree (flattened with ".") → PyTorch names and layouts. */
export function fromFlaxLayout(flax: Map<string, RawTensor>, file = "flax_model.msgpack"): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [flaxName, t] of flax) {
    let name = flaxName.startsWith("params.") ? flaxName.slice("params.".length) : flaxName;
    if (name.startsWith(VISION_NESTED)) name = "vision_model." + name.slice(VISION_NESTED.length);
    let tensor = t;
    const leaf = name.slice(name.lastIndexOf(".") + 1);
    const stem = name.slice(0, name.length - leaf.length);
    if (leaf === "kernel") {
      if (t.shape.length === 2) tensor = permuteRaw(t, [1, 0]);
      else if (t.shape.length === 4) tensor = permuteRaw(t, [3, 2, 0, 1]);
      else throw new Error(`${file}: '${flaxName}' is a ${t.shape.length}-d kernel; expected a Dense (2-d) or Conv (4-d) kernel`);
      name = stem + "weight";
    } else if (leaf === "scale" || leaf === "embedding") {
      name = stem + "weight";
    }
    if (out.has(name)) throw new Error(`${file}: '${flaxName}' and another parameter both map to '${name}'`);
    out.set(name, tensor);
  }
  return out;
}

/** PyTorch names → the Flax layout (the inverse of fromFlaxLayout), for writing flax_model.msgpack. */
export function toFlaxLayout(pt: Map<string, RawTensor>): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [ptName, t] of pt) {
    let name = ptName.startsWith("vision_model.") ? VISION_NESTED + ptName.slice("vision_model.".length) : ptName;
    let tensor = t;
    if (name.endsWith(".weight")) {
      const stem = name.slice(0, -"weight".length);
      const isNorm = /(LayerNorm|layer_norm\d?|layrnorm|layernorm|final_layer_norm)\.$/.test(stem);
      const isEmbedding = /(embeddings?|embedding)\.$/.test(stem) && t.shape.length === 2 && !/projection\.$/.test(stem);
      if (isNorm) name = stem + "scale";
      else if (isEmbedding) name = stem + "embedding";
      else if (t.shape.length === 2) { tensor = permuteRaw(t, [1, 0]); name = stem + "kernel"; }
      else if (t.shape.length === 4) { tensor = permuteRaw(t, [2, 3, 1, 0]); name = stem + "kernel"; }
    }
    out.set(name, tensor);
  }
  return out;
}
