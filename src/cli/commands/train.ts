/** `koclip train`: contrastive training or fine-tuning; every TrainConfig field is a flag. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig, type TrainConfig } from "../../train/config.js";
import { expandPhases, stageLine, trainPhases } from "../../train/phases.js";
import { writeCurves, type TrainProgress } from "../../train/train.js";
import { ProcessGroup, worldFromEnv } from "../../torch/index.js";
import { intFlag, parseFlags, UsageError, type Command } from "../command.js";
import { relaunchAsRanks, shareCores } from "../launch.js";
import { ProgressLine } from "../progress.js";

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
/** Every option but `phases` is a flag; a schedule in phases is written in the --config file. */
type FlagField = Exclude<keyof TrainConfig, "phases">;
const FIELDS = (Object.keys(DEFAULT_TRAIN_CONFIG) as (keyof TrainConfig)[]).filter((k): k is FlagField => k !== "phases");

type Group = "data" | "model" | "optimisation" | "augmentation" | "run";

/** Each option's group and one-line meaning; the type makes a new TrainConfig field need one. */
const HELP: Record<FlagField, [Group, string]> = {
  data: ["data", "training pairs, JSONL (required)"],
  val: ["data", "validation pairs, JSONL; its loss is logged every --eval-every steps and at the end"],
  positiveKey: ["data", "rows sharing this field's value are positives of each other (the emoji dataset: key)"],
  firstCaptionProb: ["data", "probability of training on a row's first caption rather than a random other one"],
  captionTemplates: ["data", "wrap captions in prompt templates: ko, en, ko,en (by the caption's script) or a file"],
  templateProb: ["data", "probability of wrapping a caption in a template"],
  model: ["model", "start from this model folder (fine-tuning)"],
  vision: ["model", "start from two towers: this CLIP vision folder ..."],
  text: ["model", "... and this RoBERTa/BERT folder, with fresh projections"],
  modelConfig: ["model", "start from scratch: this dual-encoder config.json (needs --tokenizer)"],
  tokenizer: ["model", "tokenizer folder (from scratch; with --model it replaces the model's vocabulary)"],
  projectionDim: ["model", "size of the shared embedding space when starting from two towers"],
  freeze: ["model", "none, vision (LiT: train the text side only) or text"],
  epochs: ["optimisation", "passes over the data, unless --steps is set"],
  steps: ["optimisation", "optimiser steps (0: from --epochs)"],
  batchSize: ["optimisation", "pairs per micro-batch (the contrastive batch)"],
  gradAccum: ["optimisation", "micro-batches per optimiser step"],
  lr: ["optimisation", "peak learning rate (AdamW)"],
  warmupSteps: ["optimisation", "steps of linear warm-up before the cosine decay"],
  minLrRatio: ["optimisation", "floor of the cosine decay, as a fraction of --lr"],
  weightDecay: ["optimisation", "AdamW weight decay (not on biases, norms or the logit scale)"],
  betas: ["optimisation", "AdamW betas, two numbers"],
  eps: ["optimisation", "AdamW epsilon"],
  clipGradNorm: ["optimisation", "clip the global gradient norm at this value (0: off)"],
  logitScaleMax: ["optimisation", "cap on exp(logit_scale), the inverse temperature"],
  amp: ["optimisation", "none or bf16 (bfloat16 autocast)"],
  cropScale: ["augmentation", "random resized crop: min,max share of the image's area (1,1: off)"],
  colorJitter: ["augmentation", "colour jitter strength (0: off)"],
  grayscale: ["augmentation", "probability of a greyscale image"],
  blur: ["augmentation", "probability of a light blur"],
  foregroundKey: ["augmentation", "row field naming a transparent PNG drawn on a fresh background every step"],
  foregroundScale: ["augmentation", "min,max share of the side the foreground fills"],
  outline: ["augmentation", "probability of a dark outline stroke around the foreground"],
  posterize: ["augmentation", "probability of flattening the foreground's colours first"],
  out: ["run", "output folder: the model, checkpoints/, metrics.jsonl, curves (required)"],
  device: ["run", "cpu, cuda or cuda:N"],
  seed: ["run", "seed of everything random (initialisation, order, augmentation)"],
  logEvery: ["run", "steps per metrics.jsonl line"],
  evalEvery: ["run", "steps between validation losses (0: at the end only)"],
  checkpointEvery: ["run", "steps between checkpoints (0: none)"],
  keepCheckpoints: ["run", "checkpoints kept (older ones are deleted)"],
  resume: ["run", "continue bit-exactly from the newest checkpoint in --out"],
  decodeConcurrency: ["run", "images decoded at once while loading the data"],
  strict: ["run", "stop at the first bad row instead of skipping it"],
};

/** A default as a user types it: 0.9,0.98 for pairs, none for null, nothing for required strings. */
function shownDefault(v: unknown): string {
  if (v === null) return "";
  if (Array.isArray(v)) return ` (default ${v.join(",")})`;
  if (typeof v === "boolean" || v === "") return "";
  return ` (default ${v})`;
}

function optionsHelp(): string {
  const groups: Group[] = ["data", "model", "optimisation", "augmentation", "run"];
  return groups.map((g) => `${g}:\n` + FIELDS.filter((k) => HELP[k][0] === g).map((k) => {
    const flag = `  --${kebab(k)}${typeof DEFAULT_TRAIN_CONFIG[k] === "boolean" ? "" : " V"}`;
    return `${flag.padEnd(26)}${HELP[k][1]}${shownDefault(DEFAULT_TRAIN_CONFIG[k])}`;
  }).join("\n")).join("\n\n");
}

const USAGE = `usage: koclip train --data train.jsonl --out DIR (--model DIR | --vision DIR --text DIR | --model-config FILE --tokenizer DIR) [options]

Trains a dual encoder with the symmetric contrastive loss and writes a Hugging Face model folder
(config.json, model.safetensors, tokenizer, preprocessor_config.json) plus metrics.jsonl,
curves.svg/png and checkpoints/ to --out. --config FILE reads the same options from JSON
(camelCase keys); flags override it. The file may also hold "phases", a schedule of warm restarts
run as stages out/stage-1, out/stage-2, … (see docs/training.md); --steps then sets the whole
schedule's length. \`koclip train --plot DIR\` redraws DIR/curves.svg/png from
DIR/metrics.jsonl at any time, also while that run is going. --model, --vision and --text take a
folder or a Hugging Face id (ORG/NAME[@REV], from the Hugging Face cache or downloaded into it).

${optionsHelp()}

data-parallel (docs/distributed.md):
  --nproc N               starts N local ranks (1/N of the cores each); --batch-size is the global batch
  --dist-timeout S        seconds a rank waits for its peers before failing (default 300)
  Under torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set), each process is one rank.`;

function parseValue(key: FlagField, raw: string | boolean): unknown {
  const def = DEFAULT_TRAIN_CONFIG[key];
  if (typeof def === "boolean") return raw;
  if (typeof def === "number") {
    const n = Number(raw);
    if (raw === "" || !Number.isFinite(n)) throw new UsageError(`--${kebab(key)} expects a number, got '${raw}'`);
    return n;
  }
  if (Array.isArray(def)) {
    const parts = String(raw).split(",").map(Number);
    if (parts.length !== def.length || parts.some((n) => !Number.isFinite(n))) throw new UsageError(`--${kebab(key)} expects ${def.length} comma-separated numbers, got '${raw}'`);
    return parts;
  }
  return String(raw);
}

/** Progress on stderr through the shared ProgressLine: image decoding, then the steps. */
function progressPrinter(): { onProgress: (p: TrainProgress) => void; end: () => void } {
  const decode = new ProgressLine();
  const steps = new ProgressLine();
  return {
    onProgress(p) {
      if (p.phase === "decode") {
        decode.update(p.step, p.totalSteps, `decoding images ${p.step}/${p.totalSteps}`);
        return;
      }
      decode.end();
      const eta = p.stepsPerSecond > 0 ? (p.totalSteps - p.step) / p.stepsPerSecond : 0;
      const width = 24, filled = Math.round((width * p.step) / p.totalSteps);
      steps.update(p.step, p.totalSteps, `[${"#".repeat(filled)}${".".repeat(width - filled)}] step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ` +
        `${p.stepsPerSecond.toFixed(2)} step/s ETA ${Math.floor(eta / 60)}m${String(Math.round(eta % 60)).padStart(2, "0")}s data-wait ${(100 * p.dataWaitFraction).toFixed(1)}%${p.phase === "eval" ? " (validating)" : ""}`);
    },
    end() {
      decode.end();
      steps.end();
    },
  };
}

export const trainCommand: Command = {
  name: "train",
  summary: "train or fine-tune a dual encoder on image–caption pairs",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const options: Record<string, { type: "string" | "boolean" }> = {
      config: { type: "string" }, plot: { type: "string" }, nproc: { type: "string" }, "dist-timeout": { type: "string" },
    };
    for (const k of FIELDS) options[kebab(k)] = { type: typeof DEFAULT_TRAIN_CONFIG[k] === "boolean" ? "boolean" : "string" };
    const values = parseFlags(argv, options).values as Record<string, string | boolean | undefined>;
    if (typeof values.plot === "string") {
      if (!existsSync(join(values.plot, "metrics.jsonl"))) throw new Error(`${join(values.plot, "metrics.jsonl")}: not found (is ${values.plot} a training output folder?)`);
      await writeCurves(values.plot);
      console.log(JSON.stringify({ curves: [`${values.plot}/curves.svg`, `${values.plot}/curves.png`] }));
      return 0;
    }
    const fromFile = values.config ? (JSON.parse(readFileSync(String(values.config), "utf8")) as Record<string, unknown>) : {};
    const fromFlags: Record<string, unknown> = {};
    for (const k of FIELDS) if (values[kebab(k)] !== undefined) fromFlags[k] = parseValue(k, values[kebab(k)]!);
    let cfg: TrainConfig;
    try {
      cfg = resolveTrainConfig(fromFile, fromFlags);
      expandPhases(cfg); // a bad phase is a usage error before any training
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const nproc = intFlag("nproc", values.nproc as string | undefined) ?? 1;
    const timeoutS = intFlag("dist-timeout", values["dist-timeout"] as string | undefined) ?? 300;
    if (nproc > 1) {
      if (cfg.batchSize % nproc !== 0) throw new UsageError(`--batch-size ${cfg.batchSize} does not split evenly over --nproc ${nproc}`);
      return relaunchAsRanks("train", argv, nproc, timeoutS);
    }
    const world = worldFromEnv();
    shareCores(world);
    const group = world.worldSize > 1 ? ProcessGroup.init(world, { timeoutMs: timeoutS * 1000 }) : null;
    const lead = world.rank === 0;
    try {
      // Rank 0 alone reports; the other ranks train in silence.
      let progress = lead ? progressPrinter() : null;
      const result = await trainPhases(cfg, {
        onProgress: progress ? (p) => progress!.onProgress(p) : undefined,
        onStage: (stage, stages, s) => {
          if (!progress) return;
          progress.end();
          progress = progressPrinter();
          console.error(stageLine(stage, stages, s));
        },
        log: lead ? console.error : () => {},
        group,
      });
      progress?.end();
      if (lead) console.log(JSON.stringify(result));
    } finally {
      group?.dispose();
    }
    return 0;
  },
};
