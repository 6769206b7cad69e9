/** `koclip train`: contrastive training or fine-tuning; every TrainConfig field is a flag. */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig, type TrainConfig } from "../../train/config.js";
import { train, writeCurves, type TrainProgress } from "../../train/train.js";
import { ProcessGroup, setNumThreads, worldFromEnv } from "../../torch/index.js";
import { parseFlags, UsageError, type Command } from "../command.js";
import { launchLocal } from "../launch.js";

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
const FIELDS = Object.keys(DEFAULT_TRAIN_CONFIG) as (keyof TrainConfig)[];

const USAGE = `usage: koclip train --data train.jsonl --out DIR (--model DIR | --vision DIR --text DIR | --model-config FILE --tokenizer DIR) [options]

Trains a dual encoder with the symmetric contrastive loss and writes a Hugging Face model folder
(config.json, model.safetensors, tokenizer, preprocessor_config.json) plus metrics.jsonl,
curves.svg/png and checkpoints/ to --out. --config FILE reads the same options from JSON
(camelCase keys); flags override it. \`koclip train --plot DIR\` redraws DIR/curves.svg/png from
DIR/metrics.jsonl at any time, also while that run is going.

options (default):
${FIELDS.map((k) => `  --${kebab(k)}${typeof DEFAULT_TRAIN_CONFIG[k] === "boolean" ? "" : " V"}`.padEnd(26) + ` ${JSON.stringify(DEFAULT_TRAIN_CONFIG[k])}`).join("\n")}

  --freeze vision trains the text side only (LiT); --amp bf16 uses bfloat16 matmuls;
  --positive-key key treats rows with the same dataset field as positives of each other;
  --resume continues bit-exactly from the newest checkpoint in --out/checkpoints.

data-parallel (docs/distributed.md):
  --nproc N                starts N local ranks (1/N of the cores each); --batch-size is the global batch
  --dist-timeout S         seconds a rank waits for its peers before failing (300)
  Under torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set), each process is one rank.`;

function parseValue(key: keyof TrainConfig, raw: string | boolean): unknown {
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

function progressPrinter(): (p: TrainProgress) => void {
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (now - last < 250 && p.step !== p.totalSteps) return;
    last = now;
    let line: string;
    if (p.phase === "decode") line = `decoding images ${p.step}/${p.totalSteps}`;
    else {
      const eta = p.stepsPerSecond > 0 ? (p.totalSteps - p.step) / p.stepsPerSecond : 0;
      const width = 24, filled = Math.round((width * p.step) / p.totalSteps);
      line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ` +
        `${p.stepsPerSecond.toFixed(2)} step/s ETA ${Math.floor(eta / 60)}m${String(Math.round(eta % 60)).padStart(2, "0")}s data-wait ${(100 * p.dataWaitFraction).toFixed(1)}%${p.phase === "eval" ? " (validating)" : ""}`;
    }
    if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`);
    else if (p.phase !== "decode" && (p.step % 50 === 0 || p.step === p.totalSteps)) process.stderr.write(line + "\n");
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
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const nproc = values.nproc === undefined ? 1 : Number(values.nproc);
    if (!Number.isInteger(nproc) || nproc < 1) throw new UsageError(`--nproc expects a whole number >= 1, got '${values.nproc}'`);
    const timeoutS = values["dist-timeout"] === undefined ? 300 : Number(values["dist-timeout"]);
    if (!(timeoutS > 0)) throw new UsageError(`--dist-timeout expects seconds > 0, got '${values["dist-timeout"]}'`);
    const world = worldFromEnv();
    if (nproc > 1) {
      if (world.worldSize > 1) throw new UsageError(`--nproc ${nproc} inside a launched job (WORLD_SIZE=${world.worldSize} is set): use one or the other`);
      if (cfg.batchSize % nproc !== 0) throw new UsageError(`--batch-size ${cfg.batchSize} does not split evenly over --nproc ${nproc}`);
      const args = ["train", ...argv.filter((a, i) => a !== "--nproc" && argv[i - 1] !== "--nproc" && !a.startsWith("--nproc="))];
      // Local peers see a dead rank's connections close at once and fail within seconds (naming
      // it); a rank stuck elsewhere (say, talking to a foreign server on MASTER_PORT) is not waited for.
      return launchLocal({ nproc, args, graceMs: Math.min(timeoutS * 1000, 10_000) });
    }
    // Ranks sharing a machine share its cores (torchrun sets LOCAL_WORLD_SIZE; KOCLIP_NUM_THREADS overrides).
    if (world.worldSize > 1 && !process.env.KOCLIP_NUM_THREADS) setNumThreads(Math.max(1, Math.floor(availableParallelism() / world.localWorldSize)));
    const group = world.worldSize > 1 ? ProcessGroup.init(world, { timeoutMs: timeoutS * 1000 }) : null;
    const lead = world.rank === 0;
    try {
      const result = await train(cfg, lead ? progressPrinter() : undefined, lead ? console.error : () => {}, group);
      if (lead && process.stderr.isTTY) process.stderr.write("\n");
      if (lead) console.log(JSON.stringify({ out: cfg.out, ...result }));
    } finally {
      group?.dispose();
    }
    return 0;
  },
};
