/**
 * Checkpoint containers as bytes ↔ named `RawTensor`s: safetensors, PyTorch zip-pickle
 * (`pytorch_model.bin`) and Flax msgpack. No tensor library and no model knowledge here; renaming
 * and transposing a foreign layout happens in the model adapters above this folder. Config files
 * are read through one ConfigReader (config_reader.ts).
 */
export { ConfigError, ConfigReader, FINITE, NON_NEGATIVE, POSITIVE, inRange, isJsonObject, type Json, type NumberRule } from "./config_reader.js";
export {
  type DType,
  type RawTensor,
  DTYPES,
  checkRawTensor,
  dtypeSize,
  float32ToRaw,
  isDType,
  numel,
  rawToFloat32,
} from "./raw_tensor.js";
export {
  type SafetensorsIndex,
  type SafetensorsTensorInfo,
  SafetensorsFile,
  openSafetensors,
  parseSafetensorsHeader,
  readSafetensors,
  readSafetensorsIndex,
  readShardedSafetensors,
  writeSafetensors,
} from "./safetensors.js";
export { readTorchBin, writeTorchBin } from "./torch_pickle.js";
export { readFlaxMsgpack, writeFlaxMsgpack } from "./flax_msgpack.js";
// Lower layers, exported for tests and for tools that poke at archives directly.
export { PickleCallable, PickleWriter, unpickle, type UnpickleHooks } from "./pickle.js";
export { ZipReader, crc32, writeZip, type ZipEntry, type ZipWriteOptions } from "./zip.js";
