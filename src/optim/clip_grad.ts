/** Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_. */
import { noGrad, stack, tidy, type Tensor } from "../torch/index.js";

/**
 * Scales all gradients so their joint L2 norm is at most `maxNorm`; returns the norm before clipping.
 *
 *   const norm = clipGradNorm(params, 1.0);
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return noGrad(() =>
    tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      const total = stack(grads.map((g) => g.norm(2))).norm(2).item();
      const coef = maxNorm / (total + 1e-6);
      if (coef < 1) for (const g of grads) g.mul_(coef);
      return total;
    }),
  );
}
