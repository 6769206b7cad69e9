/**
 * Reads a fixture's golden.safetensors and compares our tensors with it; also runs the two-step
 * training check every dual encoder must pass (loss, every gradient, parameters after AdamW steps).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readSafetensors, type RawTensor } from "../../src/formats/index.js";
import type { DualEncoder, TextBatch } from "../../src/models/dual_encoder.js";
import { tensorFromRaw } from "../../src/nn/index.js";
import { AdamW } from "../../src/optim/index.js";
import * as T from "../../src/torch/index.js";
import { fixture } from "./fixtures.js";

export interface Golden {
  raw: Map<string, RawTensor>;
  json: { texts: string[]; losses?: number[]; optimizer?: { lr: number; betas: [number, number]; eps: number; weight_decay: number } };
  /** A golden tensor (kept out of tidy scopes: dispose it or let the test end). */
  get(name: string): T.Tensor;
}

export function loadGolden(model: string): Golden {
  const raw = readSafetensors(fixture(model, "golden.safetensors"));
  const json = JSON.parse(readFileSync(fixture(model, "golden.json"), "utf8"));
  return {
    raw,
    json,
    get(name) {
      const r = raw.get(name);
      if (!r) throw new Error(`golden has no '${name}'`);
      return tensorFromRaw(r);
    },
  };
}

/** The golden batch's token ids and mask as our TextBatch. */
export function goldenTextBatch(g: Golden): TextBatch {
  return { inputIds: g.get("input_ids"), attentionMask: g.get("attention_mask") };
}

/** max |a − b| over all elements. */
export function maxAbsDiff(a: T.Tensor, b: T.Tensor): number {
  assert.deepEqual(a.shape, b.shape, "shapes differ");
  const x = a.toFloat32Array(), y = b.toFloat32Array();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  return worst;
}

export function assertClose(ours: T.Tensor, golden: T.Tensor, tol: number, label: string): void {
  const d = maxAbsDiff(ours, golden);
  assert.ok(d <= tol, `${label}: max abs diff ${d.toExponential(2)} > ${tol}`);
}

/**
 * ‖ours − golden‖ / ‖golden‖ (for gradients, whose scale varies per parameter). The denominator
 * has a floor of 1e-3: some gradients are zero in exact arithmetic (attention's key bias shifts
 * every score of a query equally, which softmax ignores), so both sides hold float32 rounding
 * noise around 1e-9 whose ratio means nothing.
 */
export function relativeDiff(ours: T.Tensor, golden: T.Tensor): number {
  return T.tidy(() => {
    const g = golden.toDtype("float64"), o = ours.toDtype("float64");
    const denom = Math.max(g.norm().item(), 1e-3);
    return o.sub(g).norm().item() / denom;
  });
}

/**
 * The training-parity check: loss at step 0, every parameter's gradient (≤ 1e-4 relative to its
 * norm), the parameters after one and two AdamW steps (≤ 1e-5), and the loss before step 2.
 */
export function checkTwoAdamWSteps(model: DualEncoder, g: Golden, pixels: T.Tensor, batch: TextBatch): void {
  const h = g.json.optimizer!;
  const params = [...model.store.vars.entries()].filter(([name]) => g.raw.has(`grad.${name}`));
  const trainable = new Set(params.map(([, p]) => p));
  for (const p of model.store.vars.values()) if (!trainable.has(p)) p.requiresGrad = false; // buffers
  for (const [, p] of params) p.requiresGrad = true;
  assert.equal(params.length, [...g.raw.keys()].filter((k) => k.startsWith("grad.")).length, "every golden gradient has a parameter");
  // The fixtures apply weight decay to every parameter (shared/README.md).
  const opt = new AdamW(params.map(([, p]) => p), { lr: h.lr, betas: h.betas, eps: h.eps, weightDecay: h.weight_decay });
  for (let step = 0; step < 2; step++) {
    const loss = T.tidy(() => {
      const out = model.forward(pixels, batch);
      out.loss.backward();
      return out.loss.item();
    });
    assert.ok(Math.abs(loss - g.json.losses![step]!) <= 1e-4, `loss before step ${step + 1}: ${loss} vs ${g.json.losses![step]}`);
    if (step === 0) {
      for (const [name, p] of params) {
        T.tidy(() => {
          const rel = relativeDiff(p.grad!, g.get(`grad.${name}`));
          assert.ok(rel <= 1e-4, `grad.${name}: relative diff ${rel.toExponential(2)}`);
        });
      }
    }
    opt.step();
    opt.zeroGrad();
    for (const [name, p] of params) T.tidy(() => assertClose(p, g.get(`step${step + 1}.${name}`), 1e-5, `step${step + 1}.${name}`));
  }
  opt.dispose();
}
