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
