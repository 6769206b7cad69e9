/**
 * The training loop, nanoGPT-style: set up, then one loop that sets the learning rate, sometimes
 * evaluates and checkpoints, runs forward/backward over micro-batches, clips, steps and logs.
 * Contrastive loss with multi-positives (loss.ts); everything random derives from the seed and
 * the step, so `resume` continues bit-exactly from the last checkpoint. Given a process group, it
 * trains data-parallel (distributed.ts): the same steps as one process over the global batch, with
 * rank 0 alone writing to cfg.out.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { formatBadRows, readPairs } from "../data/datasets.js";
import type { PretrainedModel } from "../models/pretrained.js";
import { saveModel } from "../models/save.js";
import { AdamW, clipGradNorm, cosineLr, decayGroups } from "../optim/index.js";
import { autocast, manualSeed, noGrad, tensor, tidy, type ProcessGroup, type Tensor } from "../torch/index.js";
import { restoreLatest, saveCheckpoint } from "./checkpoint.js";
import { refuseOtherSettings, type TrainConfig } from "./config.js";
import { resolveTemplates } from "../tasks/zero_shot.js";
import { allReduceGradients, broadcastParameters, gatherPositiveKeys, gatherWithGrad } from "./distributed.js";
import { PairLoader, resolveForegrounds, type Batch, type LoaderOptions } from "./data.js";
import { PrefetchingLoader } from "./prefetch.js";
import { initModel } from "./init.js";
import { multiPositiveLoss } from "../models/losses/multi_positive.js";
import { lineChartSvg, svgToPng } from "./plot.js";

export interface TrainProgress {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  stepsPerSecond: number;
  /** Share of wall time spent building batches rather than in the model. */
  dataWaitFraction: number;
  phase: "decode" | "train" | "eval";
}

export interface TrainResult {
  steps: number;
  finalLoss: number;
  valLoss: number | null;
  seconds: number;
  dataWaitFraction: number;
  badRows: number;
}

interface MetricLine {
  step: number;
  loss?: number;
  lr?: number;
  val_loss?: number;
  logit_scale?: number;
  pairs_per_s?: number;
  data_wait?: number;
  /** Data-parallel runs: mean wall time per step in the gradient all-reduce so far, waiting for the slowest rank included. */
  allreduce_ms?: number;
}

/**
 * Loss of one batch (images i ↔ captions i, multi-positives), under autocast when asked. With a
 * group, `batch` is this rank's shard and the loss is over the whole global batch.
 */
export function batchLoss(model: PretrainedModel, batch: Batch, amp: TrainConfig["amp"], group: ProcessGroup | null = null): Tensor {
  const forward = () => {
    const px = tensor(batch.pixels, { shape: batch.shape, device: model.device });
    let image = model.encoder.encodeImage(px).toDtype("float32"); // [B, D], unit rows
    let text = model.encoder.encodeText(model.tokenize(batch.texts)).toDtype("float32");
    let { groups, texts } = batch;
    if (group) {
      image = gatherWithGrad(group, image);
      text = gatherWithGrad(group, text);
      ({ groups, texts } = gatherPositiveKeys(group, texts, groups));
    }
    const logitsPerImage = image.matmul(text.t()).mul(model.encoder.logitScale().exp());
    return multiPositiveLoss(logitsPerImage, groups, texts);
  };
  if (amp === "bf16") return autocast(model.device.startsWith("cuda") ? "cuda" : "cpu", forward);
  return forward();
}

/** Mean loss over the validation set's batches (fixed order, no augmentation). */
function evaluate(model: PretrainedModel, val: PairLoader, amp: TrainConfig["amp"]): number {
  let total = 0;
  const n = Math.max(1, val.batchesPerEpoch);
  noGrad(() => {
    for (let i = 0; i < val.batchesPerEpoch; i++) total += tidy(() => batchLoss(model, val.batch(0, i), amp).item());
  });
  return total / n;
}

function readMetrics(file: string, upToStep: number): MetricLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as MetricLine).filter((m) => m.step <= upToStep);
}

/**
 * The saved result of a run that finished in `cfg.out` (train_result.json is written after
 * everything else), so that `--resume` has nothing left to do; null when there is none. A finished
 * run made with other settings is another run: refused, as restoreLatest refuses a checkpoint.
 */
function finishedRun(cfg: TrainConfig, resultFile: string): TrainResult | null {
  const configFile = join(cfg.out, "train_config.json");
  if (!existsSync(resultFile) || !existsSync(configFile)) return null;
  refuseOtherSettings(`${cfg.out}: holds a finished run`, JSON.parse(readFileSync(configFile, "utf8")) as Partial<TrainConfig>, cfg);
  return JSON.parse(readFileSync(resultFile, "utf8")) as TrainResult;
}

/** The captionTemplates option as the loader's two template sets (Hangul captions, others). */
function captionTemplates(spec: string | null): LoaderOptions["templates"] {
  if (spec === null) return null;
  if (spec === "ko,en") return { hangul: resolveTemplates("ko"), other: resolveTemplates("en") };
  const templates = resolveTemplates(spec);
  return { hangul: templates, other: templates };
}

/** Writes curves.svg and curves.png from the metrics log. */
export async function writeCurves(outDir: string): Promise<void> {
  const metrics = readMetrics(join(outDir, "metrics.jsonl"), Infinity);
  const train = metrics.filter((m) => m.loss !== undefined).map((m) => [m.step, m.loss!] as [number, number]);
  const val = metrics.filter((m) => m.val_loss !== undefined).map((m) => [m.step, m.val_loss!] as [number, number]);
  const svg = lineChartSvg("contrastive loss", [{ name: "train", color: "#1f77b4", points: train }, { name: "validation", color: "#d62728", points: val }]);
  writeFileSync(join(outDir, "curves.svg"), svg);
  writeFileSync(join(outDir, "curves.png"), await svgToPng(svg));
}

/** The loaders of one run: training batches from a worker thread, validation batches (if any) in order. */
interface Loaders {
  train: PrefetchingLoader;
  val: PairLoader | null;
  /** Rows skipped: unreadable lines plus undecodable images. */
  badRows: number;
}

/** Reads the pairs and decodes their images; refuses a set that yields less than one batch. */
async function openLoaders(cfg: TrainConfig, model: PretrainedModel, onProgress: ((p: TrainProgress) => void) | undefined, log: (line: string) => void, group: ProcessGroup | null): Promise<Loaders> {
  const data = readPairs(cfg.data, { strict: cfg.strict });
  if (data.bad.length) log(formatBadRows(data));
  const loaderOpts = {
    imageConfig: model.imageConfig, batchSize: cfg.batchSize, seed: cfg.seed, cropScale: cfg.cropScale,
    colorJitter: cfg.colorJitter, grayscale: cfg.grayscale, firstCaptionProb: cfg.firstCaptionProb, positiveKey: cfg.positiveKey,
    foregroundKey: cfg.foregroundKey, foregroundScale: cfg.foregroundScale, outline: cfg.outline, blur: cfg.blur, posterize: cfg.posterize,
    templates: captionTemplates(cfg.captionTemplates), templateProb: cfg.templateProb,
  };
  const rows = cfg.foregroundKey === null ? data.rows : resolveForegrounds(data.rows, cfg.foregroundKey, dirname(resolve(cfg.data)));
  const decodeProgress = (done: number, total: number) => onProgress?.({ step: done, totalSteps: total, loss: NaN, lr: 0, stepsPerSecond: 0, dataWaitFraction: 0, phase: "decode" });
  // Training batches are built in a worker thread while the model runs (see prefetch.ts).
  const shard = group ? { index: group.rank, count: group.size } : undefined;
  const train = await PrefetchingLoader.create(rows, { ...loaderOpts, train: true, shard }, cfg.decodeConcurrency, decodeProgress);
  try {
    if (train.bad.length) {
      if (cfg.strict) throw new Error(`${cfg.data}:${train.bad[0]!.line}: ${train.bad[0]!.reason}`);
      log(train.bad.slice(0, 10).map((b) => `${cfg.data}:${b.line}: ${b.reason}`).join("\n") + `\n${train.bad.length} undecodable images skipped`);
    }
    if (train.batchesPerEpoch === 0) throw new Error(`${cfg.data}: ${train.rowCount} usable pairs, fewer than one batch of ${cfg.batchSize}`);
    // Validation batches are capped at the set's size so a small set still yields one batch.
    const valRows = cfg.val ? readPairs(cfg.val, { strict: cfg.strict }).rows : [];
    if (cfg.val && valRows.length < 2) log(`${cfg.val}: fewer than 2 usable pairs, validation skipped`);
    const val = valRows.length >= 2 ? await PairLoader.create(valRows, { ...loaderOpts, batchSize: Math.min(cfg.batchSize, valRows.length), train: false }, cfg.decodeConcurrency) : null;
    return { train, val, badRows: data.bad.length + train.bad.length };
  } catch (err) {
    await train.close();
    throw err;
  }
}

/** Freezes the tower `cfg.freeze` names and returns the parameters left to train, by name. */
function freeze(model: PretrainedModel, tower: TrainConfig["freeze"]): Map<string, Tensor> {
  const frozen = tower === "vision" ? "vision_model." : tower === "text" ? "text_model." : null;
  return new Map([...model.encoder.store.vars].filter(([name, p]) => {
    if (frozen && name.startsWith(frozen)) p.requiresGrad = false;
    return p.requiresGrad;
  }));
}

/** Wall time spent waiting for batches, in the gradient all-reduce and in whole steps. */
class StepClock {
  dataSeconds = 0;
  allReduceSeconds = 0;
  stepSeconds = 0;
  private readonly start = performance.now();
  constructor(private readonly firstStep: number) {}
  /** Steps per second since the loop (re)started. */
  rate(done: number): number {
    return (done - this.firstStep) / ((performance.now() - this.start) / 1000);
  }
  get dataWait(): number {
    return this.dataSeconds / Math.max(1e-9, this.stepSeconds);
  }
  /** Milliseconds per step in the all-reduce since the loop (re)started. */
  allReduceMs(done: number): number {
    return (1000 * this.allReduceSeconds) / Math.max(1, done - this.firstStep);
  }
}

/**
 * One optimiser step: forward/backward over `cfg.gradAccum` micro-batches, clip, step, clamp the
 * logit scale. Micro-batch k of the run is batch k of the shuffled epochs, so a resumed run sees
 * the same batches. With a group, the gradients are made the global batch's before clipping.
 * Returns the step's loss.
 */
async function trainStep(model: PretrainedModel, loader: PrefetchingLoader, named: Map<string, Tensor>, opt: AdamW, cfg: TrainConfig, step: number, clock: StepClock, group: ProcessGroup | null): Promise<number> {
  const t0 = performance.now();
  const at = (k: number): [number, number] => [Math.floor(k / loader.batchesPerEpoch), k % loader.batchesPerEpoch];
  let loss = 0;
  for (let micro = 0; micro < cfg.gradAccum; micro++) {
    const g = step * cfg.gradAccum + micro;
    const d0 = performance.now();
    const batch = await loader.batch(...at(g), [at(g + 1), at(g + 2)]);
    clock.dataSeconds += (performance.now() - d0) / 1000;
    loss += tidy(() => {
      const l = batchLoss(model, batch, cfg.amp, group).div(cfg.gradAccum);
      l.backward();
      return l.item();
    });
  }
  if (group) {
    const r0 = performance.now();
    allReduceGradients(group, [...named.values()], [model.encoder.logitScale()]);
    clock.allReduceSeconds += (performance.now() - r0) / 1000;
  }
  if (cfg.clipGradNorm > 0) clipGradNorm([...named.values()], cfg.clipGradNorm);
  opt.step();
  opt.zeroGrad();
  noGrad(() => model.encoder.logitScale().clamp_(0, Math.log(cfg.logitScaleMax)));
  clock.stepSeconds += (performance.now() - t0) / 1000;
  return loss;
}

/**
 * metrics.jsonl: every `logEvery` steps the mean training loss since the last line, and the
 * validation loss when one was computed. Opening it drops the lines a killed run wrote past the
 * step it resumes from; they are recomputed.
 */
class MetricsLog {
  private windowLoss = 0;
  private windowSteps = 0;
  constructor(private readonly file: string, resumedStep: number, private readonly logEvery: number, private readonly totalSteps: number) {
    writeFileSync(file, readMetrics(file, resumedStep).map((m) => JSON.stringify(m) + "\n").join(""));
  }
  /** Records step `done`; the line is written when it is a log step or carries a validation loss. */
  record(done: number, loss: number, fields: () => Omit<MetricLine, "step" | "loss" | "val_loss">, valLoss?: number): void {
    this.windowLoss += loss;
    this.windowSteps++;
    const line: MetricLine = { step: done };
    if (done % this.logEvery === 0 || done === this.totalSteps) {
      Object.assign(line, { loss: this.windowLoss / this.windowSteps, ...fields() });
      this.windowLoss = 0;
      this.windowSteps = 0;
    }
    if (valLoss !== undefined) line.val_loss = valLoss;
    if (Object.keys(line).length > 1) appendFileSync(this.file, JSON.stringify(line) + "\n");
  }
}

/** Saves the model folder, its config and curves, then train_result.json last: it marks the run finished. */
async function finish(model: PretrainedModel, cfg: TrainConfig, result: TrainResult): Promise<TrainResult> {
  for (const p of model.encoder.store.vars.values()) p.requiresGrad = false;
  saveModel(model, cfg.out);
  writeFileSync(join(cfg.out, "train_config.json"), JSON.stringify(cfg, null, 2) + "\n");
  await writeCurves(cfg.out);
  writeFileSync(join(cfg.out, "train_result.json"), JSON.stringify(result, null, 2) + "\n");
  return result;
}

/**
 * Trains per `cfg` and writes an HF model folder to cfg.out.
 *
 *   await train(resolveTrainConfig({ data: "train.jsonl", out: "runs/a", model: "models/koclip-emoji", steps: 100 }));
 *
 * With `group`, this process is one rank of a data-parallel run: every rank must be given the same
 * cfg (checked before anything is written), cfg.batchSize is the global batch, and only rank 0
 * logs, validates, checkpoints and saves; the others return the same result without writing.
 * `--resume` reads the checkpoint on every rank, so cfg.out must be a folder all ranks can read.
 */
export async function train(givenCfg: TrainConfig, onProgress?: (p: TrainProgress) => void, log: (line: string) => void = console.error, group: ProcessGroup | null = null): Promise<TrainResult> {
  const started = performance.now();
  const lead = group === null || group.rank === 0;
  if (group) {
    group.agree("training config", JSON.stringify(givenCfg));
    if (givenCfg.batchSize % group.size !== 0) throw new Error(`--batch-size ${givenCfg.batchSize} does not split evenly over ${group.size} ranks`);
  }
  // Ranks on one machine given "cuda" take one GPU each, by LOCAL_RANK (NCCL needs them apart).
  const cfg = group && givenCfg.device === "cuda" ? { ...givenCfg, device: `cuda:${group.localRank}` } : givenCfg;
  const resultFile = join(cfg.out, "train_result.json");
  const finished = cfg.resume ? finishedRun(cfg, resultFile) : null;
  if (finished) {
    log(`${cfg.out}: this run already finished (${finished.steps} steps); nothing to do`);
    return finished;
  }
  if (lead) mkdirSync(cfg.out, { recursive: true });
  manualSeed(cfg.seed);
  const model = await initModel(cfg, log);
  let loaders: Loaders | null = null;
  let opt: AdamW | null = null;
  try {
    loaders = await openLoaders(cfg, model, onProgress, log, group);
    const { train: loader, val } = loaders;
    const totalSteps = cfg.steps > 0 ? cfg.steps : Math.max(1, Math.floor((cfg.epochs * loader.batchesPerEpoch) / cfg.gradAccum));
    const named = freeze(model, cfg.freeze);
    opt = new AdamW(decayGroups(named, cfg.weightDecay), { lr: cfg.lr, betas: cfg.betas, eps: cfg.eps });
    const resumed = cfg.resume ? restoreLatest(cfg.out, named, opt, cfg) : null;
    if (resumed) log(`resumed from step ${resumed.step}`);
    const firstStep = resumed?.step ?? 0;
    if (group) {
      // Every rank starts from rank 0's weights at the same step (a rank that found another
      // checkpoint, or none, is refused rather than silently overwritten).
      group.agree("resumed step", String(firstStep));
      broadcastParameters(group, [...model.encoder.store.vars.values()]);
    }
    if (lead) rmSync(resultFile, { force: true }); // the folder is about to change: its previous result no longer describes it
    const metrics = lead ? new MetricsLog(join(cfg.out, "metrics.jsonl"), firstStep, cfg.logEvery, totalSteps) : null;
    const clock = new StepClock(firstStep);

    let loss = NaN;
    let valLoss: number | null = null;
    for (let step = firstStep; step < totalSteps; step++) {
      const lr = cosineLr(step, { baseLr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps, minLr: cfg.lr * cfg.minLrRatio });
      opt.setLr(lr);
      loss = await trainStep(model, loader, named, opt, cfg, step, clock, group);
      const done = step + 1;
      const rate = clock.rate(done);
      onProgress?.({ step: done, totalSteps, loss, lr, stepsPerSecond: rate, dataWaitFraction: clock.dataWait, phase: "train" });
      const evalNow = lead && val !== null && ((cfg.evalEvery > 0 && done % cfg.evalEvery === 0) || done === totalSteps);
      if (evalNow) {
        onProgress?.({ step: done, totalSteps, loss, lr, stepsPerSecond: rate, dataWaitFraction: 0, phase: "eval" });
        valLoss = evaluate(model, val!, cfg.amp);
      }
      metrics?.record(done, loss, () => ({
        lr, logit_scale: Math.exp(model.encoder.logitScale().item()), pairs_per_s: rate * cfg.batchSize * cfg.gradAccum, data_wait: clock.dataWait,
        ...(group ? { allreduce_ms: clock.allReduceMs(done) } : {}),
      }), evalNow ? valLoss! : undefined);
      if (lead && cfg.checkpointEvery > 0 && done % cfg.checkpointEvery === 0 && done < totalSteps) {
        saveCheckpoint(cfg.out, named, opt, { step: done, config: cfg }, cfg.keepCheckpoints);
      }
    }
    const result: TrainResult = {
      steps: totalSteps, finalLoss: loss, valLoss, seconds: (performance.now() - started) / 1000,
      dataWaitFraction: clock.dataWait, badRows: loaders.badRows,
    };
    if (lead) await finish(model, cfg, result);
    group?.barrier(); // the job ends when rank 0 has saved
    return result;
  } finally {
    opt?.dispose();
    await loaders?.train.close();
    model.dispose();
  }
}
