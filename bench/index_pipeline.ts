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
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clipDefaults, preprocessImages } from "../src/image/index.js";
import { koclipConfigJson, KoClipModel, parseKoClipConfig } from "../src/models/koclip/index.js";
import { loadModel } from "../src/models/load.js";
import { PretrainedModel } from "../src/models/pretrained.js";
import { saveModel } from "../src/models/save.js";
import { VarStore, type Precision } from "../src/nn/index.js";
import * as T from "../src/torch/index.js";
import { REPO_ROOT } from "../tests/helpers/fixtures.js";
import { benchTokenizer, makePhotoFolder, pixelStream } from "./inputs.js";
import { KOCLIP_BASE_CONFIG } from "./koclip_base.js";
import type { BenchRow } from "./table.js";
import { log, secondsPerCall, type BenchOptions } from "./timing.js";

const PHOTO_WIDTH = 640;
const PHOTO_HEIGHT = 480;
/** The goal: indexing keeps ≥ 90% of the bare encoder's throughput. */
const KEPT_GOAL = 0.9;

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
      log(`index: bare encoder and koclip index, ${precision}`);
      const bare = await bareEncoder(modelDir, photos, precision, opts.minSeconds);
      const e2e = indexRun(photosDir, modelDir, db, precision);
      rows.push({
        name: `koclip index, ${count} JPEGs ${PHOTO_WIDTH}×${PHOTO_HEIGHT}, ViT-B/32 ${precision}, batch ${bare.batch} (read+decode+preprocess+thumbnail+SQLite)`,
        unit: "img/s", ours: e2e, peer: bare.perSecond, peerName: `bare image encoder, same model, ${precision}, preprocessed batches (this run)`, higherIsBetter: true,
        goal: { on: "ratio", atLeast: KEPT_GOAL },
      });
    }
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
