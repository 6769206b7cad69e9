/** Parameters an optimizer updates, grouped by hyper-parameters (weight decay on or off). */
import type { Tensor } from "../torch/index.js";

export interface ParamGroup {
  params: Tensor[];
  /** Parameter names, parallel to params (for checkpoints and logs). */
  names?: string[];
  weightDecay?: number;
  lr?: number;
}

/**
 * open_clip's rule: matrices and conv kernels decay; biases, norm weights, embeddings' 1-D gains,
 * and the logit scale (all tensors with fewer than 2 dimensions, or named so) do not.
 */
export function decayGroups(named: Map<string, Tensor>, weightDecay: number): ParamGroup[] {
  const decay: ParamGroup = { params: [], names: [], weightDecay };
  const noDecay: ParamGroup = { params: [], names: [], weightDecay: 0 };
  for (const [name, t] of named) {
    if (!t.requiresGrad) continue;
    const exempt = t.ndim < 2 || /(^|\.)(bias|logit_scale)$|norm|LayerNorm|layrnorm/.test(name);
    const g = exempt ? noDecay : decay;
    g.params.push(t);
    g.names!.push(name);
  }
  return [decay, noDecay].filter((g) => g.params.length > 0);
}
