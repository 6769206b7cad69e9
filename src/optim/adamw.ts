/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"), step for step as
 * torch.optim.AdamW computes it (single-tensor path, no amsgrad):
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
 */
import { keep, noGrad, tidy, zerosLike, type Tensor } from "../torch/index.js";
import type { ParamGroup } from "./param_groups.js";

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface ParamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

export class AdamW {
  readonly groups: Required<Pick<ParamGroup, "params" | "weightDecay" | "lr">>[];
  readonly betas: [number, number];
  readonly eps: number;
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: Tensor[] | ParamGroup[], opts: AdamWOptions) {
    const groups: ParamGroup[] = params.length > 0 && !("params" in params[0]!) ? [{ params: params as Tensor[] }] : (params as ParamGroup[]);
    this.groups = groups.map((g) => ({ params: g.params, weightDecay: g.weightDecay ?? opts.weightDecay ?? 0.01, lr: g.lr ?? opts.lr }));
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
  }

  /** Sets the learning rate of every group (schedulers call this before each step). */
  setLr(lr: number): void {
    for (const g of this.groups) g.lr = lr;
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    const [beta1, beta2] = this.betas;
    noGrad(() => {
      for (const group of this.groups) {
        for (const p of group.params) {
          tidy(() => {
            const grad = p.grad;
            if (grad === null) return;
            let s = this.state.get(p);
            if (!s) {
              s = { step: 0, expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)) };
              this.state.set(p, s);
            }
            s.step += 1;
            if (group.weightDecay !== 0) p.mul_(1 - group.lr * group.weightDecay);
            s.expAvg.lerp_(grad, 1 - beta1);
            s.expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
            const biasCorrection1 = 1 - beta1 ** s.step;
            const biasCorrection2 = 1 - beta2 ** s.step;
            const denom = s.expAvgSq.sqrt().div_(Math.sqrt(biasCorrection2)).add_(this.eps);
            p.addcdiv_(s.expAvg, denom, -group.lr / biasCorrection1);
          });
        }
      }
    });
  }

  /** Forgets every parameter's gradient (set to none, like PyTorch's default). */
  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.clearGrad();
  }

  /** Frees the moment buffers. */
  dispose(): void {
    for (const s of this.state.values()) {
      s.expAvg.dispose();
      s.expAvgSq.dispose();
    }
    this.state.clear();
  }
}
