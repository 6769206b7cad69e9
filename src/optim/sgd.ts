/** Stochastic gradient descent with momentum and (coupled) weight decay, as torch.optim.SGD. */
import { keep, noGrad, tidy, type Tensor } from "../torch/index.js";
import type { ParamGroup } from "./param_groups.js";

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD {
  readonly groups: Required<Pick<ParamGroup, "params" | "weightDecay" | "lr">>[];
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly buffers = new Map<Tensor, Tensor>();

  constructor(params: Tensor[] | ParamGroup[], opts: SGDOptions) {
    const groups: ParamGroup[] = params.length > 0 && !("params" in params[0]!) ? [{ params: params as Tensor[] }] : (params as ParamGroup[]);
    this.groups = groups.map((g) => ({ params: g.params, weightDecay: g.weightDecay ?? opts.weightDecay ?? 0, lr: g.lr ?? opts.lr }));
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
  }

  setLr(lr: number): void {
    for (const g of this.groups) g.lr = lr;
  }

  step(): void {
    noGrad(() => {
      for (const group of this.groups) {
        for (const p of group.params) {
          tidy(() => {
            let d = p.grad;
            if (d === null) return;
            if (group.weightDecay !== 0) d = d.add(p, group.weightDecay);
            if (this.momentum !== 0) {
              let buf = this.buffers.get(p);
              if (!buf) {
                buf = keep(d.clone());
                this.buffers.set(p, buf);
              } else {
                buf.mul_(this.momentum).add_(d, 1 - this.dampening);
              }
              d = this.nesterov ? d.add(buf, this.momentum) : buf;
            }
            p.add_(d, -group.lr);
          });
        }
      }
    });
  }

  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.clearGrad();
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
