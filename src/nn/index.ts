/** src/nn: layers that fetch their parameters by checkpoint name from a VarStore. */
export { VarStore, VarBuilder, mapSource, PRECISIONS, type TensorSource, type VarStoreOptions, type Precision } from "./var_store.js";
export { applyInit, fanInUniform, normalInit, onesInit, zerosInit, type Init } from "./init.js";
export { tensorFromRaw, tensorToRaw, torchDType } from "./raw.js";
export { Linear, SharedInputLinears } from "./linear.js";
export { LayerNorm } from "./layer_norm.js";
export { Embedding } from "./embedding.js";
export { Conv2d, type Conv2dOptions } from "./conv2d.js";
export { activateInPlace, ACTIVATIONS, type Activation } from "./activation.js";
export { multiHeadAttention, splitHeads, mergeHeads, keyPaddingMask } from "./attention.js";
