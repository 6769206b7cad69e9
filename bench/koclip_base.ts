/** koclip-base's shapes: the towers the ONNX peers were exported from (../shared/peers/export_onnx.py). */
export const KOCLIP_BASE_CONFIG = {
  model_type: "vision-text-dual-encoder",
  projection_dim: 512,
  vision_config: {
    model_type: "clip_vision_model", hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12,
    image_size: 224, patch_size: 32, hidden_act: "quick_gelu",
  },
  text_config: {
    model_type: "roberta", vocab_size: 32000, hidden_size: 1024, intermediate_size: 4096, num_hidden_layers: 24, num_attention_heads: 16,
    max_position_embeddings: 514, type_vocab_size: 1, pad_token_id: 1, bos_token_id: 0, eos_token_id: 2,
  },
} as const;

/**
 * Arithmetic of one input through each tower (a multiply-add counts 2): `gemm`, the Linear layers
 * and the patch embedding (what int8 precision runs as int8 GEMMs); `total`, also attention's
 * products and the final projection (and the text pooler). Normalisations and activations are
 * left out: they are a few operations per element, against hundreds per element for the GEMMs.
 */
export function towerFlops(tower: "image" | "text", textLength: number): { gemm: number; total: number } {
  const layerGemm = (tokens: number, d: number, ff: number) => 2 * tokens * (4 * d * d + 2 * d * ff);
  const attention = (tokens: number, d: number) => 2 * 2 * tokens * tokens * d;
  const projection = 2 * KOCLIP_BASE_CONFIG.projection_dim;
  if (tower === "image") {
    const v = KOCLIP_BASE_CONFIG.vision_config;
    const patches = (v.image_size / v.patch_size) ** 2, tokens = patches + 1;
    const gemm = 2 * patches * 3 * v.patch_size ** 2 * v.hidden_size + v.num_hidden_layers * layerGemm(tokens, v.hidden_size, v.intermediate_size);
    return { gemm, total: gemm + v.num_hidden_layers * attention(tokens, v.hidden_size) + projection * v.hidden_size };
  }
  const t = KOCLIP_BASE_CONFIG.text_config;
  const gemm = t.num_hidden_layers * layerGemm(textLength, t.hidden_size, t.intermediate_size);
  return { gemm, total: gemm + t.num_hidden_layers * attention(textLength, t.hidden_size) + 2 * t.hidden_size ** 2 + projection * t.hidden_size };
}
