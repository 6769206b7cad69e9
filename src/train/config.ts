/**
 * Every training option, with its default. A JSON file (--config) and command-line flags override
 * these field by field; the resolved config is saved with each checkpoint.
 */

/**
 * One phase of a schedule (see phases.ts): the options it changes, and optionally the lengths of
 * its cosine cycles (warm restarts), each run with the next seed.
 */
export type TrainPhase = Partial<Omit<TrainConfig, "phases">> & { restarts?: number[] };

export interface TrainConfig {
  /** Pairs JSONL for training (required) and optionally for validation. */
  data: string;
  val: string | null;
  /** Output folder: the final HF model, checkpoints/, metrics.jsonl, curves.svg/png. */
  out: string;
  /** Start from a full model folder (fine-tuning) … */
  model: string | null;
  /** … or from two pretrained towers (a CLIP-vision model folder and a RoBERTa/BERT folder) … */
  vision: string | null;
  text: string | null;
  /**
   * … or from scratch: a dual-encoder config.json plus a tokenizer folder. A tokenizer given
   * with `model` replaces the model's (shared pieces keep their embeddings).
   */
  modelConfig: string | null;
  tokenizer: string | null;
  /** Size of the shared space when starting from towers. */
  projectionDim: number;

  /** Training length: epochs over the data, unless steps > 0. */
  epochs: number;
  steps: number;
  batchSize: number;
  /** Micro-batches per optimizer step (the effective batch is batchSize × this). */
  gradAccum: number;

  lr: number;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  warmupSteps: number;
  /** Floor of the cosine schedule, as a fraction of lr. */
  minLrRatio: number;
  /** Global gradient-norm clip (0 = off). */
  clipGradNorm: number;
  /** CLIP clamps exp(logit_scale) at 100 so the temperature cannot run away. */
  logitScaleMax: number;
  /** "vision" = LiT (locked image tower), "text", or "none". */
  freeze: "none" | "vision" | "text";
  /** bf16 autocast: matmuls in bfloat16 (oneDNN/AMX on CPU, tensor cores on GPU). */
  amp: "none" | "bf16";
  device: string;
  seed: number;

  /** Random resized crop: the crop's area as a fraction of the image, [min, max] (1,1 = off). */
  cropScale: [number, number];
  /** Colour jitter strength (0 = off, the default) and greyscale probability. */
  colorJitter: number;
  grayscale: number;
  /** Light blur probability. */
  blur: number;
  /**
   * Row field naming a transparent PNG of the subject (the emoji dataset's `foreground`): training
   * draws it on a fresh random background each step at a share of the side in foregroundScale,
   * flattens its colours (3–6 levels a channel) with probability `posterize` and strokes it with
   * a dark outline with probability `outline`. Validation uses `image`.
   */
  foregroundKey: string | null;
  foregroundScale: [number, number];
  outline: number;
  posterize: number;
  /**
   * Prompt templates wrapped around captions with probability templateProb, so zero-shot prompts
   * ("{} 이모지") are familiar text at test time: "ko", "en", "ko,en" (Korean templates for
   * captions with Hangul, English for the rest) or a file with one template per line.
   */
  captionTemplates: string | null;
  templateProb: number;
  /** Probability of training on the first caption (the name) rather than a random other one. */
  firstCaptionProb: number;
  /** Treat rows sharing this dataset field (e.g. the emoji "key") as positives of each other. */
  positiveKey: string | null;

  logEvery: number;
  evalEvery: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  resume: boolean;
  /** Rows per image-decoding wave; images are decoded once and cached as RGB8. */
  decodeConcurrency: number;
  /** Skip bad rows (reported) unless strict. */
  strict: boolean;
  /** A schedule in phases (phases.ts); null: one run of the options above. */
  phases: TrainPhase[] | null;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  data: "",
  val: null,
  out: "",
  model: null,
  vision: null,
  text: null,
  modelConfig: null,
  tokenizer: null,
  projectionDim: 512,
  epochs: 1,
  steps: 0,
  batchSize: 64,
  gradAccum: 1,
  lr: 5e-5, // KoCLIP's fine-tuning rate
  weightDecay: 0.1,
  betas: [0.9, 0.98],
  eps: 1e-6,
  warmupSteps: 0,
  minLrRatio: 0,
  clipGradNorm: 0,
  logitScaleMax: 100,
  freeze: "none",
  amp: "none",
  device: "cpu",
  seed: 0,
  cropScale: [1, 1],
  colorJitter: 0,
  grayscale: 0,
  blur: 0,
  captionTemplates: null,
  templateProb: 0,
  foregroundKey: null,
  foregroundScale: [0.7, 0.9], // the emoji dataset's own layout (GLYPH_SCALE_RANGE)
  outline: 0,
  posterize: 0,
  firstCaptionProb: 1,
  positiveKey: null,
  logEvery: 10,
  evalEvery: 0,
  checkpointEvery: 0,
  keepCheckpoints: 2,
  resume: false,
  decodeConcurrency: 8,
  strict: false,
  phases: null,
};

const KEYS = Object.keys(DEFAULT_TRAIN_CONFIG) as (keyof TrainConfig)[];

// Settings that do not change what a run computes: where it writes, how often it logs,
// validates and checkpoints, how it decodes, on which device, and file paths (a checkpoint
// restores the weights whatever the starting model; a different architecture fails to restore).
const BOOKKEEPING = new Set<keyof TrainConfig>([
  "data", "val", "out", "model", "vision", "text", "modelConfig", "tokenizer",
  "logEvery", "evalEvery", "checkpointEvery", "keepCheckpoints", "resume", "decodeConcurrency", "strict", "device",
]);

/**
 * Refuses to resume, naming each setting, when `now` differs from `before` (the config of a
 * checkpoint or of a finished run in the output folder; fields it lacks count as their defaults)
 * in what a run computes: that folder belongs to another run. `what` begins the message.
 *
 *   refuseOtherSettings("runs/x: its checkpoint (step 800) was", { ...cfg, batchSize: 256 }, { ...cfg, batchSize: 512 })
 *   // throws "runs/x: its checkpoint (step 800) was made with other settings: batchSize 256 → 512. …"
 */
export function refuseOtherSettings(what: string, before: Partial<TrainConfig>, now: TrainConfig): void {
  const was = { ...DEFAULT_TRAIN_CONFIG, ...before };
  const changed = KEYS
    .filter((k) => !BOOKKEEPING.has(k) && JSON.stringify(was[k]) !== JSON.stringify(now[k]))
    .map((k) => `${k} ${JSON.stringify(was[k])} → ${JSON.stringify(now[k])}`);
  if (changed.length) {
    throw new Error(`${what} made with other settings: ${changed.join(", ")}. Resume with the same settings, or train into another --out (nothing was changed)`);
  }
}

/** Checks a partial config (from JSON or flags) against the defaults' types; names the bad field. */
export function resolveTrainConfig(...layers: Partial<Record<string, unknown>>[]): TrainConfig {
  const cfg: Record<string, unknown> = { ...DEFAULT_TRAIN_CONFIG };
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      if (!KEYS.includes(k as keyof TrainConfig)) throw new Error(`unknown training option '${k}' (known: ${KEYS.join(", ")})`);
      if (k === "phases") {
        cfg.phases = checkPhases(v);
        continue;
      }
      const def = DEFAULT_TRAIN_CONFIG[k as keyof TrainConfig];
      const ok = def === null ? v === null || typeof v === "string" : Array.isArray(def) ? Array.isArray(v) && v.length === def.length && v.every((x) => typeof x === "number") : typeof v === typeof def;
      if (!ok) throw new Error(`training option '${k}': expected ${def === null ? "a string" : Array.isArray(def) ? `[${def.map(() => "number").join(", ")}]` : typeof def}, got ${JSON.stringify(v)}`);
      cfg[k] = v;
    }
  }
  const c = cfg as unknown as TrainConfig;
  if (!c.data) throw new Error("training needs data (a pairs JSONL)");
  if (!c.out) throw new Error("training needs out (an output folder)");
  const starts = [c.model !== null, c.vision !== null || c.text !== null, c.modelConfig !== null].filter(Boolean).length;
  if (starts !== 1) throw new Error("start from exactly one of: model (a full model), vision + text (two towers), modelConfig + tokenizer (from scratch)");
  if ((c.vision === null) !== (c.text === null)) throw new Error("vision and text towers go together");
  if (c.modelConfig !== null && c.tokenizer === null) throw new Error("training from scratch (modelConfig) needs a tokenizer folder");
  for (const k of ["batchSize", "gradAccum", "epochs"] as const) if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`training option '${k}' must be a positive integer`);
  if (!["none", "vision", "text"].includes(c.freeze)) throw new Error(`freeze must be none, vision or text`);
  if (!["none", "bf16"].includes(c.amp)) throw new Error(`amp must be none or bf16`);
  if (c.batchSize < 2) throw new Error("a contrastive batch needs at least 2 pairs");
  for (const k of ["grayscale", "blur", "outline", "posterize", "firstCaptionProb", "templateProb"] as const) if (!(c[k] >= 0 && c[k] <= 1)) throw new Error(`training option '${k}' is a probability in [0, 1], got ${c[k]}`);
  const [lo, hi] = c.foregroundScale;
  if (!(lo > 0 && lo <= hi && hi <= 1)) throw new Error(`foregroundScale must be [min, max] with 0 < min <= max <= 1, got [${lo}, ${hi}]`);
  return c;
}

/** `phases` as given: null, or a list of objects of known options with optional positive-integer `restarts`. */
function checkPhases(v: unknown): TrainPhase[] | null {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length === 0) throw new Error(`training option 'phases': expected a non-empty list of option objects, got ${JSON.stringify(v)}`);
  return v.map((phase, i) => {
    if (typeof phase !== "object" || phase === null || Array.isArray(phase)) throw new Error(`phases[${i}]: expected an object of training options, got ${JSON.stringify(phase)}`);
    const { restarts, ...options } = phase as Record<string, unknown>;
    if (restarts !== undefined && (!Array.isArray(restarts) || restarts.length === 0 || !restarts.every((n) => Number.isInteger(n) && n > 0))) {
      throw new Error(`phases[${i}].restarts: expected a list of positive step counts, got ${JSON.stringify(restarts)}`);
    }
    // Values are checked when each stage's config is resolved (phases.ts, before any training).
    for (const k of Object.keys(options)) {
      if (k === "phases" || !KEYS.includes(k as keyof TrainConfig)) throw new Error(`phases[${i}]: unknown training option '${k}'`);
    }
    return phase as TrainPhase;
  });
}
