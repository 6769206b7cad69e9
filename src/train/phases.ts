/**
 * A training schedule in phases: one config whose `phases` each override some options and run
 * one or more cosine cycles (warm restarts). A phase with `restarts: [800, 1000, …]` runs a cycle
 * of each length, the learning rate restarting from its peak and the seed counting up from the
 * phase's; every cycle is one `train()` run into `out/stage-N`, started from the previous one's
 * model, so the whole schedule resumes where it stopped (finished stages are skipped).
 *
 *   const stages = expandPhases(resolveTrainConfig(JSON.parse(readFileSync("recipes/koclip-emoji/train.json", "utf8"))));
 *   stages.length   // 19
 */
import { join } from "node:path";
import type { ProcessGroup } from "../torch/index.js";
import { resolveTrainConfig, type TrainConfig, type TrainPhase } from "./config.js";
import { train, type TrainProgress, type TrainResult } from "./train.js";

/** The runs a phased config stands for, in order (one run, the config itself, without phases). */
export function expandPhases(cfg: TrainConfig): TrainConfig[] {
  if (cfg.phases === null) return [cfg];
  const { phases, ...base } = cfg;
  const cycles = phases.flatMap((phase: TrainPhase) => {
    const { restarts, ...options } = phase;
    const lengths = restarts ?? [options.steps ?? base.steps];
    const seed = options.seed ?? base.seed;
    return lengths.map((steps, i) => ({ ...options, steps, seed: seed + i }));
  });
  const steps = base.steps > 0 ? shareSteps(base.steps, cycles.map((c) => c.steps)) : cycles.map((c) => c.steps);
  return cycles.map((cycle, i) => {
    const stage = { ...base, ...cycle, phases: null, steps: steps[i]!, out: join(base.out, `stage-${i + 1}`) };
    if (i === 0) return resolveTrainConfig(stage);
    // Later stages continue the previous stage's model (its tokenizer included).
    return resolveTrainConfig({ ...stage, model: join(base.out, `stage-${i}`), modelConfig: null, vision: null, text: null, tokenizer: null });
  });
}

/**
 * --steps on a phased config is a budget for the whole schedule: `budget` steps shared in
 * proportion to the planned lengths (largest remainders first), at least one per stage.
 */
function shareSteps(budget: number, planned: number[]): number[] {
  const total = planned.reduce((a, b) => a + b, 0);
  const exact = planned.map((n) => (n * budget) / total);
  const steps = exact.map((x) => Math.max(1, Math.floor(x)));
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (let left = budget - steps.reduce((a, b) => a + b, 0), k = 0; left > 0 && k < byRemainder.length; left--, k++) steps[byRemainder[k]![1]]!++;
  return steps;
}

/** One line about a starting stage: `stage 2/19: 800 steps at lr 0.0003, seed 1 → runs/x/stage-2`. */
export function stageLine(stage: number, stages: number, cfg: TrainConfig): string {
  return `stage ${stage}/${stages}: ${cfg.steps} steps at lr ${cfg.lr}, seed ${cfg.seed} → ${cfg.out}`;
}

/** What trainPhases reports besides each stage's own progress. */
export interface PhaseCallbacks {
  onProgress?: (p: TrainProgress) => void;
  /** Called as stage `stage` (1-based) of `stages` starts; by default logs one line about it. */
  onStage?: (stage: number, stages: number, cfg: TrainConfig) => void;
  log?: (line: string) => void;
  /** Data-parallel: this process's group, for every stage (see train()). */
  group?: ProcessGroup | null;
}

/** Runs every stage of a (phased) config; the result is the last stage's, whose folder holds the model. */
export async function trainPhases(cfg: TrainConfig, callbacks: PhaseCallbacks = {}): Promise<TrainResult & { out: string }> {
  const log = callbacks.log ?? console.error;
  const onStage = callbacks.onStage ?? ((i, n, s) => log(stageLine(i, n, s)));
  const stages = expandPhases(cfg);
  let result: TrainResult | null = null;
  for (const [i, stage] of stages.entries()) {
    if (stages.length > 1) onStage(i + 1, stages.length, stage);
    result = await train(stage, callbacks.onProgress, log, callbacks.group ?? null);
  }
  return { ...result!, out: stages.at(-1)!.out };
}
