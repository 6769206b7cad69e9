/**
 * Where a training run starts: a full model (fine-tuning, optionally with a new tokenizer), two
 * pretrained towers joined by fresh projections (KoCLIP's recipe: a CLIP ViT plus a Korean
 * RoBERTa), or a config from scratch.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { clipDefaults, loadImageProcessorConfig } from "../image/index.js";
import { openCheckpoint } from "../models/checkpoint.js";
import { buildStrict } from "../models/dual_encoder.js";
import { koclipConfigJson, parseKoClipConfig, type KoClipConfig } from "../models/koclip/config.js";
import { KoClipModel } from "../models/koclip/model.js";
import { resolveModelPath } from "../models/hub.js";
import { loadModel, readConfigJson } from "../models/load.js";
import { PretrainedModel } from "../models/pretrained.js";
import { freshModel, isCheckpointBuffer, textTowerConfig, visionTowerConfig } from "../models/registry.js";
import { float32ToRaw, rawToFloat32 } from "../formats/raw_tensor.js";
import { VarStore, type TensorSource } from "../nn/index.js";
import { randn } from "../torch/index.js";
import { loadTokenizer } from "../tokenizers/index.js";
import type { TrainConfig } from "./config.js";

/** Text checkpoints name the tower's tensors bare (RobertaModel) or under "roberta."/"bert." (…ForMaskedLM). */
function textPrefix(source: TensorSource): string {
  for (const k of source.keys()) {
    if (k.startsWith("roberta.embeddings.")) return "roberta.";
    if (k.startsWith("bert.embeddings.")) return "bert.";
    if (k.startsWith("text_model.embeddings.")) return "text_model.";
  }
  return "";
}

/** KoCLIP from a CLIP (vision) folder and a RoBERTa/BERT (text) folder; projections start fresh. */
async function fromTowers(cfg: TrainConfig): Promise<PretrainedModel> {
  const vis = readConfigJson(cfg.vision!), txt = readConfigJson(cfg.text!);
  const config: KoClipConfig = parseKoClipConfig({
    model_type: "vision-text-dual-encoder", projection_dim: cfg.projectionDim, logit_scale_init_value: 2.6592,
    vision_config: visionTowerConfig(vis.json), text_config: textTowerConfig(txt.json),
  }, `${cfg.vision} + ${cfg.text}`);
  const vCk = openCheckpoint(cfg.vision!), tCk = openCheckpoint(cfg.text!);
  const tPrefix = textPrefix(tCk.source);
  const source: TensorSource = {
    keys: () => [...[...vCk.source.keys()].filter((k) => k.startsWith("vision_model.")), ...[...tCk.source.keys()].filter((k) => k.startsWith(tPrefix)).map((k) => "text_model." + k.slice(tPrefix.length))],
    get: (name) => name.startsWith("vision_model.") ? vCk.source.get(name) : name.startsWith("text_model.") ? tCk.source.get(tPrefix + name.slice("text_model.".length)) : undefined,
  };
  const store = VarStore.fromSource(source, {
    device: cfg.device, trainable: true, file: `${vCk.file} + ${tCk.file}`,
    initMissing: (n) => n === "logit_scale" || n.startsWith("visual_projection.") || n.startsWith("text_projection.") || n.startsWith("text_model.pooler."),
  });
  const encoder = buildStrict(store, (s) => new KoClipModel(s, config), isCheckpointBuffer);
  vCk.close();
  tCk.close();
  const imageConfig = await loadImageProcessorConfig(cfg.vision!, encoder.imageSize);
  return new PretrainedModel(encoder, await loadTokenizer(cfg.text!), imageConfig, cfg.text!, koclipConfigJson(config), cfg.device);
}

/** A config.json given as the file itself or as the folder holding it. */
function modelConfigJson(path: string): { json: Record<string, unknown>; file: string } {
  if (existsSync(path) && statSync(path).isDirectory()) return readConfigJson(path);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  if (typeof json !== "object" || json === null) throw new Error(`${path}: expected a JSON object`);
  return { json: json as Record<string, unknown>, file: path };
}

// The text tower's token table, the only tensor whose shape follows the tokenizer.
const WORD_EMBEDDINGS = "text_model.embeddings.word_embeddings.weight";

/**
 * A full KoCLIP model with another tokenizer (e.g. a Korean model learning English): rows of the
 * token table for pieces both vocabularies share are copied by their string, the others start
 * random with the old rows' spread; every other tensor is the model's.
 */
async function withNewVocabulary(cfg: TrainConfig, log: (line: string) => void): Promise<PretrainedModel> {
  const { json, file } = readConfigJson(cfg.model!);
  if (json.model_type !== "vision-text-dual-encoder") throw new Error(`${file}: a new tokenizer needs a KoCLIP (vision-text-dual-encoder) model, not '${String(json.model_type)}'`);
  const oldTokenizer = await loadTokenizer(cfg.model!), tokenizer = await loadTokenizer(cfg.tokenizer!);
  const textConfig = json.text_config as Record<string, unknown>;
  if (tokenizer.padTokenId !== textConfig.pad_token_id) {
    throw new Error(`${cfg.tokenizer}: its padding id ${tokenizer.padTokenId} differs from the text tower's pad_token_id ${String(textConfig.pad_token_id)}`);
  }
  const config = parseKoClipConfig({ ...json, text_config: { ...textConfig, vocab_size: tokenizer.vocabSize } }, file);
  const checkpoint = openCheckpoint(cfg.model!);
  try {
    const oldTable = checkpoint.source.get(WORD_EMBEDDINGS);
    if (!oldTable) throw new Error(`${checkpoint.file}: no ${WORD_EMBEDDINGS}`);
    const [oldRows, width] = oldTable.shape as [number, number];
    const old = rawToFloat32(oldTable);
    let sumSq = 0;
    for (const v of old) sumSq += v * v;
    const table = randn([tokenizer.vocabSize, width], { seed: cfg.seed }).mul(Math.sqrt(sumSq / old.length));
    const rows = table.toFloat32Array();
    table.dispose();
    let copied = 0;
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      const oldId = oldTokenizer.tokenToId(tokenizer.idToToken(id)!);
      if (oldId === undefined || oldId >= oldRows) continue;
      rows.set(old.subarray(oldId * width, (oldId + 1) * width), id * width);
      copied++;
    }
    log(`new vocabulary: ${copied} of ${tokenizer.vocabSize} pieces copied from ${cfg.model}, ${tokenizer.vocabSize - copied} start fresh`);
    const newTable = float32ToRaw(rows, [tokenizer.vocabSize, width]);
    const source: TensorSource = { keys: () => checkpoint.source.keys(), get: (n) => (n === WORD_EMBEDDINGS ? newTable : checkpoint.source.get(n)) };
    const store = VarStore.fromSource(source, { device: cfg.device, trainable: true, file: checkpoint.file });
    const encoder = buildStrict(store, (s) => new KoClipModel(s, config), isCheckpointBuffer);
    const imageConfig = await loadImageProcessorConfig(cfg.model!, encoder.imageSize);
    return new PretrainedModel(encoder, tokenizer, imageConfig, cfg.tokenizer!, koclipConfigJson(config), cfg.device);
  } finally {
    checkpoint.close();
  }
}

/** The model a run trains, with gradients on. */
export async function initModel(cfg: TrainConfig, log: (line: string) => void = console.error): Promise<PretrainedModel> {
  // Models and towers may be Hugging Face ids; the loaders below read the folders they resolve to.
  const folder = async (spec: string | null) => (spec ? resolveModelPath(spec) : spec);
  cfg = { ...cfg, model: await folder(cfg.model), vision: await folder(cfg.vision), text: await folder(cfg.text) };
  if (cfg.model && cfg.tokenizer) return withNewVocabulary(cfg, log);
  if (cfg.model) return loadModel(cfg.model, { trainable: true, device: cfg.device });
  if (cfg.vision && cfg.text) return fromTowers(cfg);
  const { json, file } = modelConfigJson(cfg.modelConfig!);
  const { encoder, configJson } = freshModel(json, file, VarStore.fresh({ device: cfg.device, trainable: true }));
  return new PretrainedModel(encoder, await loadTokenizer(cfg.tokenizer!), clipDefaults(encoder.imageSize), cfg.tokenizer!, configJson, cfg.device);
}
