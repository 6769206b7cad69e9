/** src/torch: tensors and autograd over libtorch. Import tensors and ops from here. */
import "./ops.generated.js"; // installs the generated Tensor methods
export * from "./ops.generated.js";
export { Tensor, tensor, fromBytes, randn, rand, manualSeed } from "./tensor.js";
export type { DType, Device, TensorData, CreateOptions, RandomOptions } from "./tensor.js";
export { tidy, keep, disposeAll } from "./scope.js";
export { noGrad, enableGrad, noGradGuard, isGradEnabled, autocast } from "./grad.js";
export { Int8Linear, quantizedEngine } from "./quantized.js";
export { resampleAxisU8, type AxisTaps } from "./resample.js";
export { setNumThreads, numThreads, cudaAvailable, cudaSynchronize, liveTensors, externalBytes, buildInfo } from "./runtime.js";
export type { BuildInfo } from "./native.js";
export { ProcessGroup, DistributedError, worldFromEnv, distributedBackends, DEFAULT_MASTER_PORT, type World, type Backend, type ReduceOp, type ProcessGroupOptions } from "./distributed.js";
