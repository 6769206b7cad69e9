/**
 * Tower throughput against onnxruntime: the koclip-base shapes (CLIP ViT-B/32 224 px and
 * RoBERTa-large, each with its 512-d projection), batch 16, texts of 32 tokens, in this process.
 *
 * Ours: seeded random weights (HF's init), run at each inference precision through
 * PretrainedModel.infer, as the product runs them. Peers: the HF transformers ONNX export of the
 * same towers (../shared/peers, constant weights: the same work per input) in onnxruntime-node,
 * intra-op threads = cores, at two precisions: fp32, and int8 as onnxruntime's quantize_dynamic
 * makes it (every encoder-layer MatMul a DynamicQuantizeMatMul: activations uint8 per tensor at
 * run time, weights int8 per output column; projections float, as in our int8 mode). Each of our
 * precisions is compared with the peer at the same precision (fp32 with fp32, int8 with int8);
 * bf16, which onnxruntime's CPU provider does not run, and int8 are also compared with the fp32
 * peer as secondary rows. The fast precisions are checked against our fp32 output on real inputs
 * (OpenMoji renders, Korean captions): cosine of each embedding row.
 *
 * Every timed call gets a batch it has not seen: 16 drawn at random from a pool of OpenMoji
 * renders or of Korean emoji names, as a stream of new photos or queries would. Repeating one
 * batch flattered int8 through libtorch's oneDNN path, which compiles new primitives for every
 * new input range and reuses them when the same batch comes back.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { clipDefaults } from "../src/image/index.js";
import type { TextBatch } from "../src/models/dual_encoder.js";
import { koclipConfigJson, KoClipModel, parseKoClipConfig } from "../src/models/koclip/index.js";
import { cosine, PretrainedModel, type PixelInput } from "../src/models/pretrained.js";
import { tensorToRaw, VarStore, type Precision, type TensorSource } from "../src/nn/index.js";
import type { Tokenizer } from "../src/tokenizers/index.js";
import * as T from "../src/torch/index.js";
import { REPO_ROOT } from "../tests/helpers/fixtures.js";
import { BatchStream, benchTokenizer, imageBatch, KOREAN_CAPTIONS, koreanEmojiTexts, pixelStream } from "./inputs.js";
import { KOCLIP_BASE_CONFIG, towerFlops } from "./koclip_base.js";
import { measurePeak } from "./peak.js";
import type { BenchRow } from "./table.js";
import { log, median, secondsPerCall, type BenchOptions } from "./timing.js";

/** The ONNX peer files (`KOCLIP_PEERS` overrides). */
export const PEERS_DIR = process.env.KOCLIP_PEERS ?? resolve(REPO_ROOT, "../shared/peers");

const BATCH = 16;
const TEXT_LENGTH = 32;
/** Images the timed batches are drawn from (renders take ~10 ms each). */
const IMAGE_POOL = 64;
/** The precisions measured besides fp32, fastest route last. */
const FAST_PRECISIONS: Precision[] = ["bf16", "int8"];
/** The peer precisions onnxruntime runs on these towers, and their files. */
const PEER_FILES = {
  fp32: { image: "vision_b32.onnx.gz", text: "text_roberta_large.onnx.gz" },
  int8: { image: "vision_b32.int8.onnx.gz", text: "text_roberta_large.int8.onnx.gz" },
} as const;
type PeerPrecision = keyof typeof PEER_FILES;
/**
 * The goals: each precision ≥ 1.2× onnxruntime at the same precision; the fast routes
 * ≥ 3× onnxruntime fp32; embeddings within cosine 0.999 of our fp32.
 */
const SAME_PRECISION_GOAL = 1.2;
const FP32_PEER_GOAL = 3;
const COSINE_GOAL = 0.999;

/** A TensorSource reading another store's parameters, so every precision gets the same weights. */
function storeSource(from: VarStore): TensorSource {
  return { keys: () => from.vars.keys(), get: (name) => { const t = from.vars.get(name); return t && tensorToRaw(t); } };
}

/** The koclip-base shaped model at `precision`: seeded fresh weights, or `from`'s weights. */
export function koclipBase(precision: Precision, tokenizer: Tokenizer, from?: VarStore): PretrainedModel {
  const cfg = parseKoClipConfig(KOCLIP_BASE_CONFIG, "koclip-base (bench)");
  let store: VarStore;
  if (from) store = VarStore.fromSource(storeSource(from), { precision, file: "koclip-base (bench)" });
  else {
    T.manualSeed(0);
    store = VarStore.fresh({ trainable: false, precision });
  }
  return new PretrainedModel(new KoClipModel(store, cfg), tokenizer, clipDefaults(224), "(bench: koclip-base, random weights)", koclipConfigJson(cfg));
}

/** A text batch as both sides take it: token ids and attention mask, padded or truncated to 32 tokens. */
interface TokenBatch {
  ids: BigInt64Array;
  mask: BigInt64Array;
}

function tokenBatch(tokenizer: Tokenizer, texts: string[]): TokenBatch {
  const enc = tokenizer.encodeBatch(texts, { padding: "max_length", truncation: true, maxLength: TEXT_LENGTH });
  return { ids: BigInt64Array.from(enc.ids.flat(), BigInt), mask: BigInt64Array.from(enc.attentionMask.flat(), BigInt) };
}

function textTensors(batch: TokenBatch): TextBatch {
  const shape = [BATCH, TEXT_LENGTH];
  return { inputIds: T.tensor(batch.ids, { shape, dtype: "int64" }), attentionMask: T.tensor(batch.mask, { shape, dtype: "int64" }) };
}

/** A stream of token batches from the text pool. */
function tokenStream(tokenizer: Tokenizer, texts: string[]): () => TokenBatch {
  const stream = new BatchStream(texts.length, BATCH, "bench|texts");
  return () => tokenBatch(tokenizer, stream.next().map((i) => texts[i]!));
}

/** The embeddings of one pass of each tower, for the cosine rows. */
interface TowerEmbeds {
  imageEmbeds: Float32Array[];
  textEmbeds: Float32Array[];
}

function rows(flat: Float32Array, dim: number): Float32Array[] {
  return Array.from({ length: flat.length / dim }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
}

/** A timed workload: one batch through one tower, ours or the peer's. */
interface Runner {
  key: string;
  run: () => unknown;
}

/**
 * Median seconds per call of each runner over ROUNDS rounds that take turns (ours, the peer's,
 * ours, …), each round `minSeconds / ROUNDS` long: a slow spell of this shared machine then
 * falls on both sides instead of on whichever ran during it. (One measurement each, in sequence,
 * moved onnxruntime's text row between 12.3 and 16.9 texts/s across runs.)
 */
const ROUNDS = 3;
async function alternate(runners: Runner[], minSeconds: number): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>(runners.map((r) => [r.key, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runners) samples.get(r.key)!.push(await secondsPerCall(r.run, minSeconds / ROUNDS, { warmup: round === 0 ? 1 : 0 }));
  }
  return new Map([...samples].map(([k, v]) => [k, median(v)]));
}

type PeerSession = import("onnxruntime-node").InferenceSession;

/** An onnxruntime session on a peer file (null, with the reason logged, where the file is missing). */
async function peerSession(file: string): Promise<PeerSession | null> {
  const path = join(PEERS_DIR, file);
  if (!existsSync(path)) {
    log(`peer ${path} missing: its rows have no peer value (KOCLIP_PEERS names the folder)`);
    return null;
  }
  const ort = await import("onnxruntime-node");
  return ort.InferenceSession.create(gunzipSync(readFileSync(path)), {
    intraOpNumThreads: availableParallelism(), interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all",
  });
}

export async function benchModels(opts: BenchOptions): Promise<BenchRow[]> {
  const tokenizer = await benchTokenizer();
  const imagePool = await imageBatch(opts.quick ? BATCH : IMAGE_POOL);
  const textPool = koreanEmojiTexts();
  const ortVersion = JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", "onnxruntime-node", "package.json"), "utf8")).version as string;
  const peerName = (p: PeerPrecision) => `onnxruntime-node ${ortVersion} ${p}`;
  const peers = new Map<PeerPrecision, { image: PeerSession | null; text: PeerSession | null }>();
  for (const [p, files] of Object.entries(PEER_FILES) as [PeerPrecision, (typeof PEER_FILES)[PeerPrecision]][]) {
    peers.set(p, { image: await peerSession(files.image), text: await peerSession(files.text) });
  }

  log("koclip fp32, bf16, int8 and onnxruntime fp32, int8, in alternating rounds");
  const fp32Model = koclipBase("fp32", tokenizer);
  const models = new Map<Precision, PretrainedModel>([["fp32", fp32Model], ...FAST_PRECISIONS.map((p) => [p, koclipBase(p, tokenizer, fp32Model.encoder.store)] as [Precision, PretrainedModel])]);
  const encodeImages = (m: PretrainedModel, px: PixelInput) => m.infer(() => m.encoder.encodeImage(T.tensor(px.data, { shape: px.shape })).toFloat32Array());
  const encodeTexts = (m: PretrainedModel, batch: TokenBatch) => m.infer(() => m.encoder.encodeText(textTensors(batch)).toFloat32Array());
  const runners: Runner[] = [];
  for (const [p, m] of models) {
    const [nextPixels, nextTokens] = [pixelStream(imagePool, BATCH), tokenStream(tokenizer, textPool)];
    runners.push({ key: `image ${p}`, run: () => encodeImages(m, nextPixels()) }, { key: `text ${p}`, run: () => encodeTexts(m, nextTokens()) });
  }
  const ort = await import("onnxruntime-node");
  for (const [p, { image, text }] of peers) {
    const [nextPixels, nextTokens] = [pixelStream(imagePool, BATCH), tokenStream(tokenizer, textPool)];
    if (image) runners.push({ key: `image peer ${p}`, run: () => { const px = nextPixels(); return image.run({ pixel_values: new ort.Tensor("float32", px.data, px.shape) }); } });
    if (text) {
      runners.push({ key: `text peer ${p}`, run: () => {
        const batch = nextTokens();
        return text.run({ input_ids: new ort.Tensor("int64", batch.ids, [BATCH, TEXT_LENGTH]), attention_mask: new ort.Tensor("int64", batch.mask, [BATCH, TEXT_LENGTH]) });
      } });
    }
  }
  const seconds = await alternate(runners, opts.minSeconds);
  const perSecond = (key: string) => (seconds.has(key) ? BATCH / seconds.get(key)! : null);
  // The cosine rows: the first 16 renders and the 16 captions of inputs.ts, through every precision.
  const cosinePixels: PixelInput = { data: imagePool.data.subarray(0, imagePool.data.length / imagePool.shape[0] * BATCH), shape: [BATCH, 3, imagePool.shape[2], imagePool.shape[3]] };
  const cosineTokens = tokenBatch(tokenizer, KOREAN_CAPTIONS.slice(0, BATCH));
  const embeds = new Map<Precision, TowerEmbeds>([...models].map(([p, m]) => [p, { imageEmbeds: rows(encodeImages(m, cosinePixels), m.embedDim), textEmbeds: rows(encodeTexts(m, cosineTokens), m.embedDim) }]));
  for (const { image, text } of peers.values()) {
    await image?.release();
    await text?.release();
  }
  [...models.values()].forEach((m) => m.dispose());

  const imageName = (p: Precision) => `image embed ViT-B/32 224px, batch ${BATCH}, ${p}`;
  const textName = (p: Precision) => `text embed RoBERTa-large, batch ${BATCH}×${TEXT_LENGTH} tokens, ${p}`;
  const throughput = (tower: "image" | "text", p: Precision, peer: PeerPrecision, goal: number): BenchRow => ({
    name: `${tower === "image" ? imageName(p) : textName(p)} vs ${peer} peer`, unit: tower === "image" ? "img/s" : "texts/s",
    ours: perSecond(`${tower} ${p}`)!, peer: perSecond(`${tower} peer ${peer}`), peerName: peerName(peer), higherIsBetter: true,
    goal: { on: "ratio", atLeast: goal },
  });
  // Same precision first: the comparison a user who quantises the peer too would make.
  const out: BenchRow[] = [];
  for (const p of Object.keys(PEER_FILES) as PeerPrecision[]) {
    out.push(throughput("image", p, p, SAME_PRECISION_GOAL), throughput("text", p, p, SAME_PRECISION_GOAL));
  }
  // Both sides' speed as a share of the vector units' ceiling (peak.ts): fp32 towers in FMA
  // work, int8 towers in their GEMMs' VNNI work (their attention and the rest are extra).
  const peak = measurePeak(opts);
  for (const p of Object.keys(PEER_FILES) as PeerPrecision[]) {
    const ceiling = p === "fp32" ? peak?.fp32?.[1] : peak?.int8?.[1];
    if (!ceiling) continue;
    for (const tower of ["image", "text"] as const) {
      const flops = towerFlops(tower, TEXT_LENGTH);
      const work = p === "fp32" ? flops.total : flops.gemm;
      const share = (perSec: number | null) => (perSec === null ? null : (100 * perSec * work) / 1e9 / ceiling);
      out.push({
        name: `${tower === "image" ? imageName(p) : textName(p)}: ${p === "fp32" ? "arithmetic" : "int8 GEMM work"} (${(work / 1e9).toFixed(2)} G${p === "fp32" ? "FLOP" : "OP"} ${tower === "image" ? "an image" : "a text"}) as a share of the ${p === "fp32" ? "FMA" : "VNNI"} peak`,
        unit: "% of peak", ours: share(perSecond(`${tower} ${p}`)), peer: share(perSecond(`${tower} peer ${p}`)), peerName: peerName(p), higherIsBetter: true,
      });
    }
  }
  const fp32 = embeds.get("fp32")!;
  for (const precision of FAST_PRECISIONS) {
    const fast = embeds.get(precision)!;
    const minCosine = (a: Float32Array[], b: Float32Array[]) => Math.min(...a.map((row, i) => cosine(row, b[i]!)));
    const close = { on: "value", atLeast: COSINE_GOAL } as const;
    out.push(throughput("image", precision, "fp32", FP32_PEER_GOAL));
    out.push({ name: `image embed ${precision} vs our fp32: min cosine over ${BATCH} OpenMoji renders`, unit: "cosine", ours: minCosine(fast.imageEmbeds, fp32.imageEmbeds), peer: null, peerName: "—", higherIsBetter: true, goal: close });
    out.push(throughput("text", precision, "fp32", FP32_PEER_GOAL));
    out.push({ name: `text embed ${precision} vs our fp32: min cosine over ${BATCH} Korean captions`, unit: "cosine", ours: minCosine(fast.textEmbeds, fp32.textEmbeds), peer: null, peerName: "—", higherIsBetter: true, goal: close });
  }
  return out;
}
