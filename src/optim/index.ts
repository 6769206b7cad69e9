/** src/optim: optimizers, gradient clipping and learning-rate schedules. */
export { AdamW, type AdamWOptions } from "./adamw.js";
export { SGD, type SGDOptions } from "./sgd.js";
export { clipGradNorm } from "./clip_grad.js";
export { cosineLr, type CosineSchedule } from "./schedule.js";
export { decayGroups, type ParamGroup } from "./param_groups.js";
