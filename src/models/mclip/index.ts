/** M-CLIP's multilingual text encoder: config and model. */
export * from "./config.js";
export * from "./model.js";
export { MClipDualEncoder } from "./dual_encoder.js";
