/**
 * `koclip index` end to end against the bare image encoder it wraps: how much of the model's
 * throughput survives reading, hashing, decoding, resizing, thumbnailing and SQLite writes.
 *
 * The model: koclip-base's vision tower (ViT-B/32 224 px, 512-d projection) with seeded random
 * weights, saved in Hugging Face format (config.json, model.safetensors, tokenizer) to a temp
 * folder; its text tower is koclip-emoji's small one with the shipped tokenizer, since indexing
 * never runs it. The photos: JPEGs made in a temp folder (bench/inputs.ts). The index runs as a
 * user runs it (`bin/koclip index DIR --model M --db F --json`, its own process; the report's
 * seconds exclude loading the model). The peer: the same model's encodeImages on already
 * preprocessed batches of the same size, in this process.
 *
 * `koclip index` decodes large JPEGs and WebPs at a reduced size (decodeImageReduced); the
 * contract is the embedding, so the section also embeds each photo set both ways (exact
 * preprocessing and reduced) with the shipped koclip-emoji model (trained: a random model maps
 * all photos to nearly one direction, so its cosines would say little) and prints the mean and
 * least cosine, on the
 * 640×480 JPEGs and on generated photos of other sizes and formats (portrait, 12 MP, PNG, WebP),
 * with the preparing speed of each way (read, hash, decode, preprocess, thumbnail; one thread).
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { clipDefaults, DEFAULT_MAX_PIXELS, preprocessImages, type ImageProcessorConfig } from "../src/image/index.js";
import { prepareBatch, type Decoded, type PrepareRequest, type Preprocessing } from "../src/collection/prepare.js";
import { chunks, encodeDecoded, MAX_PREPARE_WORKERS, PreparePool } from "../src/collection/prepare_pool.js";
import { koclipConfigJson, KoClipModel, parseKoClipConfig } from "../src/models/koclip/index.js";
import { loadModel } from "../src/models/load.js";
import { cosine, PretrainedModel } from "../src/models/pretrained.js";
import { saveModel } from "../src/models/save.js";
import { VarStore, type Precision } from "../src/nn/index.js";
import * as T from "../src/torch/index.js";
import { REPO_ROOT } from "../tests/helpers/fixtures.js";
import { benchTokenizer, makePhotoFolder, pixelStream } from "./inputs.js";
import { KOCLIP_BASE_CONFIG } from "./koclip_base.js";
import type { BenchRow } from "./table.js";
import { log, median, secondsPerCall, type BenchOptions } from "./timing.js";

const PHOTO_WIDTH = 640;
const PHOTO_HEIGHT = 480;
/** The goal: indexing keeps ≥ 90% of the bare encoder's throughput. */
const KEPT_GOAL = 0.9;
/** The goals for the reduced decode against exact preprocessing: mean and least cosine. */
const MEAN_COSINE_GOAL = 0.999;
const MIN_COSINE_GOAL = 0.995;
/** The other photo sets of the cosine check: name, size, format. */
const OTHER_PHOTOS = [
  { name: "portrait JPEGs 1080×1920", width: 1080, height: 1920, format: "jpeg" },
  { name: "12 MP JPEGs 4000×3000", width: 4000, height: 3000, format: "jpeg" },
  { name: "PNGs 2000×1500", width: 2000, height: 1500, format: "png" },
  { name: "WebPs 3000×2000", width: 3000, height: 2000, format: "webp" },
] as const;

/** Writes the ViT-B/32 indexing model (see the file comment) into `dir`. */
async function saveIndexModel(dir: string): Promise<void> {
  const emojiDir = join(REPO_ROOT, "models", "koclip-emoji");
  const emojiConfig = JSON.parse(readFileSync(join(emojiDir, "config.json"), "utf8"));
  const cfg = parseKoClipConfig({ ...KOCLIP_BASE_CONFIG, text_config: emojiConfig.text_config }, "bench index model");
  T.manualSeed(0);
  const model = new PretrainedModel(new KoClipModel(VarStore.fresh({ trainable: false }), cfg), await benchTokenizer(), clipDefaults(224), emojiDir, koclipConfigJson(cfg));
  saveModel(model, dir);
  model.dispose();
}

/**
 * Images per second of the model alone on preprocessed batches of the size `koclip index` uses
 * by default (the model's imageBatchSize), and that size. Each call draws a new batch from the
 * first 64 photos, as indexing meets new photos in every batch.
 */
async function bareEncoder(modelDir: string, photos: string[], precision: Precision, minSeconds: number): Promise<{ perSecond: number; batch: number }> {
  const model = await loadModel(modelDir, { precision });
  const batch = model.imageBatchSize;
  const pool = await preprocessImages(photos.slice(0, Math.max(batch, 64)), model.imageConfig);
  const nextPixels = pixelStream({ data: pool.data, shape: pool.shape }, batch);
  const seconds = await secondsPerCall(() => model.encodeImages([nextPixels()], { batchSize: batch }), minSeconds);
  model.dispose();
  return { perSecond: batch / seconds, batch };
}

/** `koclip index` over the folder into a fresh database: images per second from its report. */
function indexRun(photosDir: string, modelDir: string, db: string, precision: Precision): number {
  rmSync(db, { force: true });
  const r = spawnSync(join(REPO_ROOT, "bin", "koclip"), ["index", photosDir, "--model", modelDir, "--db", db, "--precision", precision, "--json", "--quiet"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`koclip index failed (${r.status}): ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { added: number; seconds: number; skipped: unknown[] };
  if (report.skipped.length) throw new Error(`koclip index skipped ${report.skipped.length} photos: ${JSON.stringify(report.skipped[0])}`);
  return report.added / report.seconds;
}

/**
 * Images per second of preparing alone as `koclip index` prepares on the CPU (its worker count,
 * one batch at a time, reduced decode, thumbnails), no model: P of the ceiling P/(P+E), where
 * preparing and the encoder take turns on all cores (see src/collection/build.ts for why).
 */
async function preparingAlone(photos: string[], imageConfig: ImageProcessorConfig, batch: number): Promise<{ perSecond: number; workers: number }> {
  const workers = Math.min(availableParallelism(), MAX_PREPARE_WORKERS);
  const pool = new PreparePool(workers);
  try {
    const prepare = (b: string[]) => pool.prepare(indexRequest(b, imageConfig, "reduced"));
    await prepare(photos.slice(0, batch)); // the workers' start, as a run pays it once
    const start = performance.now();
    for (const b of chunks(photos, batch)) await prepare(b);
    return { perSecond: photos.length / ((performance.now() - start) / 1000), workers };
  } finally {
    await pool.close();
  }
}

/** What `koclip index` asks its workers for `photos` (new files: no recorded hashes; thumbnails). */
function indexRequest(photos: string[], imageConfig: ImageProcessorConfig, preprocessing: Preprocessing): PrepareRequest {
  const files = photos.map((abs) => ({ rel: basename(abs), abs, size: statSync(abs).size, mtimeMs: 0 }));
  return { files, knownHashes: new Map(), imageConfig, thumbnails: true, maxPixels: DEFAULT_MAX_PIXELS, preprocessing };
}

/** Prepared files of `photos` as `koclip index` prepares them, with `preprocessing`. */
async function prepareAll(photos: string[], imageConfig: ImageProcessorConfig, preprocessing: Preprocessing): Promise<Decoded[]> {
  const prepared = await prepareBatch(indexRequest(photos, imageConfig, preprocessing));
  return prepared.map((p) => {
    if (p.kind !== "decoded") throw new Error(`${p.rel}: ${p.kind === "skipped" ? p.reason : p.kind}`);
    return p;
  });
}

/**
 * The cosine rows (reduced against exact embeddings of one photo set) and the preparing speed
 * of each way, measured in alternating rounds.
 */
async function reducedDecodeRows(model: PretrainedModel, trained: PretrainedModel, setName: string, photos: string[], minSeconds: number): Promise<BenchRow[]> {
  const [exact, reduced] = [await prepareAll(photos, trained.imageConfig, "exact"), await prepareAll(photos, trained.imageConfig, "reduced")];
  const [e, r] = [await encodeDecoded(exact, trained, trained.imageBatchSize), await encodeDecoded(reduced, trained, trained.imageBatchSize)];
  const cosines = e.map((v, i) => cosine(v, r[i]!));
  const seconds = { exact: [] as number[], reduced: [] as number[] };
  for (let round = 0; round < 3; round++) {
    for (const way of ["reduced", "exact"] as const) seconds[way].push(await secondsPerCall(() => prepareAll(photos, model.imageConfig, way), minSeconds / 3, { warmup: 0, minCalls: 1 }));
  }
  const perSecond = (way: "exact" | "reduced") => photos.length / median(seconds[way]);
  const row = (what: string, value: number, goal: number): BenchRow => ({
    name: `index reduced decode vs exact: ${what} cosine, ${photos.length} ${setName}, shipped koclip-emoji`, unit: "cosine", ours: value, peer: null, peerName: "—", higherIsBetter: true, goal: { on: "value", atLeast: goal },
  });
  return [
    row("mean", cosines.reduce((a, b) => a + b, 0) / cosines.length, MEAN_COSINE_GOAL),
    row("least", Math.min(...cosines), MIN_COSINE_GOAL),
    {
      name: `index preparing (read+hash+decode+preprocess+thumbnail, this thread), ${setName}, reduced decode`, unit: "img/s",
      ours: perSecond("reduced"), peer: perSecond("exact"), peerName: "the same, exact preprocessing (this run)", higherIsBetter: true,
    },
  ];
}

export async function benchIndex(opts: BenchOptions): Promise<BenchRow[]> {
  const work = mkdtempSync(join(tmpdir(), "koclip-bench-index-"));
  try {
    const count = opts.quick ? 64 : 300;
    const modelDir = join(work, "model"), photosDir = join(work, "photos"), db = join(work, "index.db");
    log(`index: saving the ViT-B/32 model and making ${count} JPEGs ${PHOTO_WIDTH}×${PHOTO_HEIGHT}`);
    await saveIndexModel(modelDir);
    await makePhotoFolder(photosDir, count, PHOTO_WIDTH, PHOTO_HEIGHT);
    const photos = readdirSync(photosDir).sort().map((f) => join(photosDir, f));
    const rows: BenchRow[] = [];
    for (const precision of ["fp32", "int8"] as const) { // the default and the fastest on CPUs
      log(`index: bare encoder, koclip index and preparing alone, ${precision}`);
      const bare = await bareEncoder(modelDir, photos, precision, opts.minSeconds);
      const e2e = indexRun(photosDir, modelDir, db, precision);
      const preparing = await preparingAlone(photos, clipDefaults(224), bare.batch);
      rows.push({
        name: `koclip index, ${count} JPEGs ${PHOTO_WIDTH}×${PHOTO_HEIGHT}, ViT-B/32 ${precision}, batch ${bare.batch} (read+decode+preprocess+thumbnail+SQLite)`,
        unit: "img/s", ours: e2e, peer: bare.perSecond, peerName: `bare image encoder, same model, ${precision}, preprocessed batches (this run)`, higherIsBetter: true,
        goal: { on: "ratio", atLeast: KEPT_GOAL },
      }, {
        name: `koclip index ceiling, ${precision}: preparing alone (P, ${preparing.workers} workers, batches of ${bare.batch}, no model) and the bare encoder (E) taking turns, P/(P+E)`,
        unit: "× of E", ours: preparing.perSecond / (preparing.perSecond + bare.perSecond), peer: null, peerName: `P = ${preparing.perSecond.toFixed(0)} img/s (this run)`, higherIsBetter: true,
      });
    }
    log("index: reduced decode against exact preprocessing, cosines and preparing speed");
    const model = await loadModel(modelDir, { precision: "fp32" });
    const trained = await loadModel(join(REPO_ROOT, "models", "koclip-emoji"));
    try {
      rows.push(...await reducedDecodeRows(model, trained, `JPEGs ${PHOTO_WIDTH}×${PHOTO_HEIGHT}`, photos, opts.minSeconds / 2));
      for (const set of OTHER_PHOTOS) {
        const dir = join(work, set.name.replace(/\W+/g, "-"));
        await makePhotoFolder(dir, opts.quick ? 2 : 8, set.width, set.height, set.format);
        rows.push(...await reducedDecodeRows(model, trained, set.name, readdirSync(dir).sort().map((f) => join(dir, f)), opts.minSeconds / 2));
      }
    } finally {
      model.dispose();
      trained.dispose();
    }
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
