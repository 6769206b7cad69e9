/** src/models/clip: the CLIP family (HF model_type `clip`), its towers and configs. */
export * from "./config.js";
export { ClipAttention, ClipEncoder, ClipEncoderLayer, ClipMlp } from "./encoder.js";
export { ClipVisionEmbeddings, ClipVisionTransformer } from "./vision.js";
export { ClipTextEmbeddings, ClipTextTransformer, clipTextAttentionMask } from "./text.js";
export { ClipModel, isClipBuffer } from "./model.js";
