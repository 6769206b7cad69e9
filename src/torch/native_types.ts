/** Element types the binding moves between JS and libtorch (libtorch's names, lower-case). */
export type DType = "float32" | "float16" | "bfloat16" | "float64" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";

/** Opaque reference to one libtorch tensor; only src/torch looks inside. */
export interface Handle {
  readonly __tensorHandle: unique symbol;
}
