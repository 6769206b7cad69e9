/** Conversion between file-format RawTensors (src/formats) and libtorch Tensors. */
import type { DType as RawDType, RawTensor } from "../formats/raw_tensor.js";
import { fromBytes, type Device, type DType, type Tensor } from "../torch/index.js";

const TO_TORCH: Record<RawDType, DType> = {
  F64: "float64", F32: "float32", F16: "float16", BF16: "bfloat16", I64: "int64", I32: "int32", I16: "int16",
  I8: "int8", U8: "uint8", BOOL: "bool",
};
const TO_RAW = Object.fromEntries(Object.entries(TO_TORCH).map(([k, v]) => [v, k])) as Record<DType, RawDType>;

/** A tensor holding a copy of `raw`'s bytes. */
export function tensorFromRaw(raw: RawTensor, device: Device = "cpu"): Tensor {
  return fromBytes(raw.data, TO_TORCH[raw.dtype], raw.shape, device);
}

/** The tensor's values as a RawTensor (a contiguous CPU copy). */
export function tensorToRaw(t: Tensor): RawTensor {
  return { dtype: TO_RAW[t.dtype], shape: t.shape, data: t.toBytes() };
}

/** The libtorch dtype a file dtype loads as. */
export function torchDType(raw: RawDType): DType {
  return TO_TORCH[raw];
}
