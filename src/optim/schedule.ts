/** Learning-rate schedules: a pure function of the step, so resuming needs only the step. */

export interface CosineSchedule {
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Floor reached at the end (0 by default). */
  minLr?: number;
}

/**
 * Linear warmup from 0, then cosine decay to minLr (open_clip's cosine_lr). Three cases, as nanoGPT
 * writes it: (1) warmup, (2) past the end: the floor, (3) in between: cosine.
 *
 *   cosineLr(0, {baseLr: 1e-3, warmupSteps: 10, totalSteps: 100})   // 1e-4
 */
export function cosineLr(step: number, s: CosineSchedule): number {
  const minLr = s.minLr ?? 0;
  if (step < s.warmupSteps) return (s.baseLr * (step + 1)) / s.warmupSteps;
  if (step >= s.totalSteps) return minLr;
  const progress = (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.baseLr - minLr);
}
