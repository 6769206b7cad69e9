/** KoCLIP: CLIP vision tower + RoBERTa text tower as a dual encoder. */
export * from "./config.js";
export { KoClipModel } from "./model.js";
