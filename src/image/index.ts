/** Public API of image preprocessing: configs, decoding and CLIP pixel values. */
export {
  clipDefaults,
  imageProcessorConfigJson,
  loadImageProcessorConfig,
  OPENAI_CLIP_MEAN,
  OPENAI_CLIP_STD,
  parseImageProcessorConfig,
  type ImageProcessorConfig,
  type ResampleFilter,
} from "./config.js";
export { DEFAULT_MAX_PIXELS, decodeImage, decodeImageReduced, ImageDecodeError, jpegFrameSize, REDUCING_GAP, type ImageInput, type RawImage, type ReducedDecode } from "./raw_image.js";
export { resizeRgb8, type Window } from "./resample.js";
export { uninitializedBytes, uninitializedFloat32, uninitializedFloat64 } from "./buffers.js";
export {
  outputSize,
  preprocessImage,
  preprocessImages,
  preprocessRawImage,
  resizeOutputSize,
  type PreprocessBatchOptions,
  type PreprocessOptions,
} from "./preprocess.js";
