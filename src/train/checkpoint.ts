/**
 * Training checkpoints: parameters, AdamW moments and the run's position, written to a temporary
 * folder and renamed into place, so a run killed at any moment leaves either the previous
 * checkpoint or the new one, never half of one. The last K are kept.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors, writeSafetensors, type RawTensor } from "../formats/index.js";
import { tensorFromRaw, tensorToRaw } from "../nn/index.js";
import type { AdamW } from "../optim/index.js";
import { keep, noGrad, tidy, type Tensor } from "../torch/index.js";
import { refuseOtherSettings, type TrainConfig } from "./config.js";

export interface TrainState {
  /** Optimizer steps completed. */
  step: number;
  config: TrainConfig;
}

const NAME = /^step-(\d{8})$/;

/** Writes checkpoints/step-XXXXXXXX atomically and prunes old ones. */
export function saveCheckpoint(outDir: string, params: Map<string, Tensor>, opt: AdamW, state: TrainState, keepLast: number): string {
  const root = join(outDir, "checkpoints");
  mkdirSync(root, { recursive: true });
  const final = join(root, `step-${String(state.step).padStart(8, "0")}`);
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const model = new Map<string, RawTensor>();
  const moments = new Map<string, RawTensor>();
  const steps: Record<string, number> = {};
  tidy(() => {
    for (const [name, p] of params) {
      model.set(name, tensorToRaw(p.detach()));
      const s = opt.state.get(p);
      if (s) {
        moments.set(`${name}.exp_avg`, tensorToRaw(s.expAvg));
        moments.set(`${name}.exp_avg_sq`, tensorToRaw(s.expAvgSq));
        steps[name] = s.step;
      }
    }
  });
  writeSafetensors(join(tmp, "model.safetensors"), model);
  writeSafetensors(join(tmp, "optimizer.safetensors"), moments);
  writeFileSync(join(tmp, "state.json"), JSON.stringify({ ...state, paramSteps: steps }, null, 1));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  const all = listCheckpoints(outDir);
  for (const old of all.slice(0, Math.max(0, all.length - keepLast))) rmSync(old.dir, { recursive: true, force: true });
  return final;
}

/** Complete checkpoints, oldest first (temporary folders of killed writes are ignored). */
export function listCheckpoints(outDir: string): { step: number; dir: string }[] {
  const root = join(outDir, "checkpoints");
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((n) => ({ m: NAME.exec(n), n }))
    .filter((x) => x.m && existsSync(join(root, x.n, "state.json")))
    .map((x) => ({ step: Number(x.m![1]), dir: join(root, x.n) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * Restores the newest checkpoint into `params` and `opt`; returns its state, or null if none. A
 * checkpoint made with other training settings than `config` belongs to another run: continuing
 * it would end in a model neither run describes, written over the folder's finished one, so it
 * is refused (naming each setting) before any tensor is read.
 */
export function restoreLatest(outDir: string, params: Map<string, Tensor>, opt: AdamW, config: TrainConfig): TrainState | null {
  const latest = listCheckpoints(outDir).pop();
  if (!latest) return null;
  const state = JSON.parse(readFileSync(join(latest.dir, "state.json"), "utf8")) as TrainState & { paramSteps: Record<string, number> };
  refuseOtherSettings(`${outDir}: its checkpoint (step ${state.step}) was`, state.config, config);
  const model = readSafetensors(join(latest.dir, "model.safetensors"));
  const moments = readSafetensors(join(latest.dir, "optimizer.safetensors"));
  noGrad(() => {
    for (const [name, p] of params) {
      const raw = model.get(name);
      if (!raw) throw new Error(`${latest.dir}: checkpoint lacks parameter '${name}' (was the model changed?)`);
      tidy(() => p.copy_(tensorFromRaw(raw, p.device)));
      const avg = moments.get(`${name}.exp_avg`), sq = moments.get(`${name}.exp_avg_sq`);
      if (avg && sq) {
        opt.state.set(p, { step: state.paramSteps[name] ?? state.step, expAvg: keep(tensorFromRaw(avg, p.device)), expAvgSq: keep(tensorFromRaw(sq, p.device)) });
      }
    }
  });
  return state;
}
