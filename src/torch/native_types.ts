/** Element types the binding moves between JS and libtorch (libtorch's names, lower-case). */
export type DType = "float32" | "float16" | "bfloat16" | "float64" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";

/** Slot number of one libtorch tensor in the addon's table; only src/torch handles these. */
export type Handle = number & { readonly __tensorHandle: unique symbol };
