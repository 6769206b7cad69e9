/**
 * koclip: Korean CLIP in TypeScript on libtorch.
 *
 *   import { loadModel, cosine } from "koclip";
 *   const model = await loadModel("path/to/model");          // detects the format
 *   const [t] = await model.encodeTexts(["고양이 사진"]);    // L2-normalised Float32Array
 *   const [i] = await model.encodeImages(["cat.jpg"]);
 *   cosine(t, i);
 */
export { loadModel, loadEncoder, readConfigJson, type LoadOptions } from "./models/load.js";
export { resolveModelPath, parseRepoRef, type HubOptions } from "./models/hub.js";
export { PretrainedModel, cosine, type EncodeOptions, type ImageLike, type PixelInput } from "./models/pretrained.js";
export { saveModel, type SaveOptions } from "./models/save.js";
export { MODEL_BUILDERS, type ModelType } from "./models/registry.js";
export { openCheckpoint, findCheckpoint, type CheckpointFormat } from "./models/checkpoint.js";
export type { DualEncoder, DualEncoderOutput, TextBatch, TowerOutput } from "./models/dual_encoder.js";
export { loadTokenizer, type Tokenizer } from "./tokenizers/index.js";
export { preprocessImages, loadImageProcessorConfig, clipDefaults, type ImageProcessorConfig } from "./image/index.js";
export * as torch from "./torch/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as formats from "./formats/index.js";
