/**
 * ONNX graphs of our towers, written from the module tree in the order each tower's forward runs:
 * the CLIP vision transformer, the CLIP text transformer, RoBERTa / XLM-R (KoCLIP's text tower)
 * and M-CLIP's mean-pooled XLM-R, each followed by its projection into the shared space.
 * Outputs are projected but not L2-normalised, as HF's `*_embeds` of the ...WithProjection models.
 */
import type { Linear } from "../../nn/index.js";
import type { ClipEncoder } from "../../models/clip/encoder.js";
import type { ClipTextTransformer } from "../../models/clip/text.js";
import type { ClipVisionTransformer } from "../../models/clip/vision.js";
import type { MultilingualCLIP } from "../../models/mclip/model.js";
import type { RobertaModel } from "../../models/roberta/model.js";
import { attr, GraphBuilder, type ExportPrecision } from "./graph.js";
import { DataType } from "./proto.js";

/** eos_token_id of pre-2023 CLIP configs, pooled at the argmax of the ids (see models/clip/text.ts). */
const LEGACY_EOS_TOKEN_ID = 2;

const BATCH = "batch_size", SEQUENCE = "sequence_length";

/** A text tower as the export sees it. */
export type TextTower =
  | { kind: "clip"; tower: ClipTextTransformer; projection: Linear }
  | { kind: "roberta"; tower: RobertaModel; projection: Linear }
  | { kind: "mclip"; tower: MultilingualCLIP };

/** The CLIP encoder's pre-norm blocks (ClipEncoderLayer.forward). */
function clipEncoder(g: GraphBuilder, x: string, encoder: ClipEncoder, heads: number, mask: string | null, prefix: string): string {
  let h = x;
  encoder.layers.forEach((layer, i) => {
    const p = `${prefix}.layers.${i}`;
    const attn = layer.selfAttn;
    const a = g.op("Add", [h, g.selfAttention(g.layerNorm(h, layer.layerNorm1, `${p}.layer_norm1`),
      { query: attn.qProj, key: attn.kProj, value: attn.vProj, out: attn.outProj }, heads, mask, `${p}.self_attn`)]);
    const m = g.linear(g.activation(g.linear(g.layerNorm(a, layer.layerNorm2, `${p}.layer_norm2`), layer.mlp.fc1, `${p}.mlp.fc1`, true), layer.mlp.act), layer.mlp.fc2, `${p}.mlp.fc2`, true);
    h = g.op("Add", [a, m]);
  });
  return h;
}

/**
 * The image tower: `pixel_values` float32 [B, 3, S, S] (preprocessed) → `image_embeds` [B, D].
 *
 *   writeOnnx("vision_model.onnx", visionGraph(model.visionModel, model.visualProjection, "fp32"));
 */
export function visionGraph(tower: ClipVisionTransformer, projection: Linear, precision: ExportPrecision): Uint8Array[] {
  const g = new GraphBuilder("vision_model", precision);
  const cfg = tower.config;
  const emb = tower.embeddings;
  const pixels = g.input("pixel_values", DataType.FLOAT, [BATCH, cfg.num_channels, cfg.image_size, cfg.image_size]);
  const k = emb.patchEmbedding.kernel;
  const conv = g.op("Conv", [pixels, g.weight("embeddings.patch_embedding.weight", emb.patchEmbedding.weight)], {
    kernel_shape: attr.ints([k, k]),
    strides: attr.ints([emb.patchEmbedding.stride, emb.patchEmbedding.stride]),
  }); // [B, D, grid, grid]
  const patches = g.op("Transpose", [g.op("Reshape", [conv, g.ints([0, 0, -1])])], { perm: attr.ints([0, 2, 1]) }); // [B, grid², D]
  const d = cfg.hidden_size;
  const clsShape = g.op("Concat", [g.op("Slice", [g.op("Shape", [pixels]), g.ints([0]), g.ints([1])]), g.ints([1, d])], { axis: attr.int(0) });
  const cls = g.op("Expand", [g.weight("embeddings.class_embedding", emb.classEmbedding, [1, 1, d]), clsShape]); // [B, 1, D]
  const tokens = g.op("Add", [g.op("Concat", [cls, patches], { axis: attr.int(1) }), g.weight("embeddings.position_embedding.weight", emb.positionEmbedding.weight)]);
  const h = clipEncoder(g, g.layerNorm(tokens, tower.preNorm, "pre_layrnorm"), tower.encoder, cfg.num_attention_heads, null, "encoder");
  const pooled = g.layerNorm(g.select(h, 1, 0), tower.postNorm, "post_layernorm"); // the class token
  g.output(g.linear(pooled, projection, "visual_projection"), "image_embeds", DataType.FLOAT, [BATCH, projection.weight.size(0)]);
  return g.encode("koclip vision tower: pixel_values [B, 3, S, S] -> image_embeds [B, D], projected, not normalised");
}

/** CLIP's text transformer → pooled [B, D] (ClipTextTransformer.forward and its pool). */
function clipText(g: GraphBuilder, tower: ClipTextTransformer, ids: string, attentionMask: string): string {
  const cfg = tower.config;
  const t = g.dim(ids, 1);
  const positions = g.range(t);
  const x = g.op("Add", [
    g.op("Gather", [g.weight("embeddings.token_embedding.weight", tower.embeddings.tokenEmbedding.weight), ids]),
    g.op("Gather", [g.weight("embeddings.position_embedding.weight", tower.embeddings.positionEmbedding.weight), positions]),
  ]);
  // Causal (key j ≤ query i) and no padded key, as clipTextAttentionMask; with right padding, as
  // CLIP's tokenizer pads, no row is left empty.
  const causal = g.op("LessOrEqual", [g.unsqueeze(positions, [0]), g.unsqueeze(positions, [1])]); // [T, T]
  const mask = g.additiveMask(g.op("And", [causal, g.keyPaddingMask(attentionMask)])); // [B, 1, T, T]
  const h = g.layerNorm(clipEncoder(g, x, tower.encoder, cfg.num_attention_heads, mask, "encoder"), tower.finalLayerNorm, "final_layer_norm");
  // The row at the first end-of-text token (the first maximum of the ids for legacy configs).
  const key = cfg.eos_token_id === LEGACY_EOS_TOKEN_ID ? ids : g.op("Equal", [ids, g.ints([cfg.eos_token_id], true)]);
  const eosAt = g.op("ArgMax", [g.op("Cast", [key], { to: attr.int(DataType.INT32) })], { axis: attr.int(1), keepdims: attr.int(1) }); // [B, 1]
  const oneHot = g.op("Cast", [g.op("Equal", [positions, eosAt])], { to: attr.int(DataType.FLOAT) }); // [B, T]
  return g.op("Squeeze", [g.op("MatMul", [g.unsqueeze(oneHot, [1]), h]), g.ints([1])]); // [B, 1, T]·[B, T, D] → [B, D]
}

/** RoBERTa's embeddings and post-norm layers → last hidden state [B, T, H] (RobertaModel.forward). */
function roberta(g: GraphBuilder, tower: RobertaModel, ids: string, attentionMask: string, prefix: string): string {
  const cfg = tower.cfg;
  const emb = tower.embeddings;
  let positions: string;
  if (tower.positionIds === "from-zero") positions = g.range(g.dim(ids, 1));
  else {
    // fairseq's numbering (robertaPositionIds): a running count of real tokens after padding_idx.
    const notPad = g.op("Cast", [g.op("Not", [g.op("Equal", [ids, g.ints([cfg.pad_token_id], true)])])], { to: attr.int(DataType.INT64) });
    positions = g.op("Add", [g.op("Mul", [g.op("CumSum", [notPad, g.ints([1], true)]), notPad]), g.ints([cfg.pad_token_id], true)]);
  }
  // token_type_ids are all zero (HF's default when none are given): row 0 of the table.
  const tokenType = g.select(g.weight(`${prefix}.embeddings.token_type_embeddings.weight`, emb.tokenTypeEmbeddings.weight), 0, 0);
  const x = g.op("Add", [
    g.op("Add", [g.op("Gather", [g.weight(`${prefix}.embeddings.word_embeddings.weight`, emb.wordEmbeddings.weight), ids]), tokenType]),
    g.op("Gather", [g.weight(`${prefix}.embeddings.position_embeddings.weight`, emb.positionEmbeddings.weight), positions]),
  ]);
  let h = g.layerNorm(x, emb.layerNorm, `${prefix}.embeddings.LayerNorm`);
  const mask = g.additiveMask(g.keyPaddingMask(attentionMask)); // [B, 1, 1, T]
  tower.layers.forEach((layer, i) => {
    const p = `${prefix}.encoder.layer.${i}`;
    const attn = g.selfAttention(h, { query: layer.query, key: layer.key, value: layer.value, out: layer.attentionOut }, cfg.num_attention_heads, mask, `${p}.attention`);
    const a = g.layerNorm(g.op("Add", [attn, h]), layer.attentionNorm, `${p}.attention.output.LayerNorm`);
    const ff = g.linear(g.activation(g.linear(a, layer.intermediate, `${p}.intermediate.dense`, true), cfg.hidden_act), layer.output, `${p}.output.dense`, true);
    h = g.layerNorm(g.op("Add", [ff, a]), layer.outputNorm, `${p}.output.LayerNorm`);
  });
  return h;
}

/**
 * The text tower: `input_ids`, `attention_mask` int64 [B, T] → `text_embeds` [B, D].
 *
 *   writeOnnx("text_model.onnx", textGraph({ kind: "clip", tower: model.textModel, projection: model.textProjection }, "fp32"));
 */
export function textGraph(text: TextTower, precision: ExportPrecision): Uint8Array[] {
  const g = new GraphBuilder("text_model", precision);
  const ids = g.input("input_ids", DataType.INT64, [BATCH, SEQUENCE]);
  const attentionMask = g.input("attention_mask", DataType.INT64, [BATCH, SEQUENCE]);
  let embeds: string, width: number;
  switch (text.kind) {
    case "clip":
      embeds = g.linear(clipText(g, text.tower, ids, attentionMask), text.projection, "text_projection");
      width = text.projection.weight.size(0);
      break;
    case "roberta": {
      const h = roberta(g, text.tower, ids, attentionMask, "text_model");
      const pooler = text.tower.pooler;
      const first = g.select(h, 1, 0); // [B, H], the <s> token
      const pooled = pooler ? g.op("Tanh", [g.linear(first, pooler.dense, "text_model.pooler.dense")]) : first;
      embeds = g.linear(pooled, text.projection, "text_projection");
      width = text.projection.weight.size(0);
      break;
    }
    case "mclip": {
      const h = roberta(g, text.tower.transformer, ids, attentionMask, "transformer");
      // maskedMeanPool: the sum over real tokens divided by their count.
      const m = g.op("Cast", [attentionMask], { to: attr.int(DataType.FLOAT) }); // [B, T]
      const summed = g.op("ReduceSum", [g.op("Mul", [h, g.unsqueeze(m, [2])]), g.ints([1])], { keepdims: attr.int(0) }); // [B, H]
      const mean = g.op("Div", [summed, g.op("ReduceSum", [m, g.ints([1])], { keepdims: attr.int(1) })]);
      embeds = g.linear(mean, text.tower.linearTransformation, "LinearTransformation");
      width = text.tower.cfg.numDims;
      break;
    }
  }
  g.output(embeds, "text_embeds", DataType.FLOAT, [BATCH, width]);
  return g.encode("koclip text tower: input_ids, attention_mask [B, T] int64 -> text_embeds [B, D], projected, not normalised");
}
