/**
 * `koclip embed`: prints L2-normalised embeddings of texts and/or images as JSON lines, or
 * embeds a whole folder into Parquet shards, one per rank of a torchrun-style launch.
 */
import { DEFAULT_MAX_PIXELS } from "../../image/index.js";
import { checkOutFolder, embedShard, planShard } from "../../collection/embedding_shards.js";
import { startPrepareWorkers } from "../../collection/prepare_pool.js";
import { loadModel } from "../../models/load.js";
import type { Precision } from "../../nn/index.js";
import { ProcessGroup, worldFromEnv } from "../../torch/index.js";
import { relaunchAsRanks, shareCores } from "../launch.js";
import { intFlag, MODEL_FLAGS, modelFlagsHelp, parseFlags, precisionFlag, UsageError, type Command } from "../command.js";

const USAGE = `usage: koclip embed --model DIR|ID (--text T ... | --image FILE ...) [options]
       koclip embed --model DIR|ID --images DIR [--file-list F] --out DIR [options]

Loads a model folder in any format koclip reads (model.safetensors, pytorch_model.bin,
flax_model.msgpack, M-CLIP) and prints one JSON object per input:
  {"input": "고양이 사진", "kind": "text", "embedding": [0.012, ...]}   (L2-normalised)

With --images and --out it embeds every image of a folder (the files koclip index would take,
or those --file-list names) into OUT/part-RRRRR-of-WWWWW.parquet: columns id, path, sha256, embedding (fixed-size list of
float32), model_fingerprint; see docs/vector-databases.md. With --nproc N, or started by
torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), each rank embeds its own contiguous slice
of the sorted file list and writes its own part; the ranks first check that they all run the
same model on the same file list with the same settings, and fail before writing if not.
\`koclip index DIR --from-embeddings OUT\` builds an index from the parts without a model run.

options:
${modelFlagsHelp("model folder or Hugging Face id ORG/NAME[@REV] (required)", 19)}
  --text T         a text to embed (repeatable)
  --image FILE     an image file to embed (repeatable; jpg, png, webp, gif, ...)
  --images DIR     a folder of images to embed into Parquet shards (needs --out)
  --file-list F    with --images: embed only the files F names (one path per line, relative
                   to the --images folder; blank lines and # comments skipped)
  --out DIR        where the shards go (created if missing)
  --max-pixels N   with --images: skip images with more pixels than this (default 100000000)
  --nproc N        with --images: start N local ranks (1/N of the cores each)
  --dist-timeout S with several ranks: seconds to wait for the other ranks (default 300)
  --vision DIR|ID  for M-CLIP text models: a CLIP folder or id that supplies the image tower
  --precision P    fp32 (default), bf16 (bfloat16 matrix products) or int8 (CPU: int8
                   Linear layers); faster on CPUs with AVX-512 BF16/VNNI or AMX, embeddings
                   within cosine 0.999 of fp32
  --batch-size N   inputs per forward pass (default 16 on the CPU; on a GPU 32 images, 64 texts)
  --quiet          with --images: no progress lines`;

export const embedCommand: Command = {
  name: "embed",
  summary: "print embeddings of texts and images (JSON lines), or embed a folder into Parquet shards",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags(argv, {
      ...MODEL_FLAGS,
      text: { type: "string", multiple: true },
      image: { type: "string", multiple: true },
      images: { type: "string" },
      out: { type: "string" },
      "file-list": { type: "string" },
      "max-pixels": { type: "string" },
      nproc: { type: "string" },
      "dist-timeout": { type: "string" },
      vision: { type: "string" },
      precision: { type: "string" },
      "batch-size": { type: "string" },
      quiet: { type: "boolean" },
    });
    if (!values.model) throw new UsageError("--model DIR is required");
    const texts = values.text ?? [];
    const images = values.image ?? [];
    const batchSize = intFlag("batch-size", values["batch-size"]);
    const precision = precisionFlag(values.precision);
    if (values["file-list"] !== undefined && values.images === undefined) throw new UsageError("--file-list F needs --images DIR, the folder its paths are relative to");
    if (values.nproc !== undefined && values.images === undefined) throw new UsageError("--nproc N goes with --images DIR --out DIR");
    if (values.images !== undefined || values.out !== undefined) {
      if (values.images === undefined || values.out === undefined) throw new UsageError("--images DIR and --out DIR go together");
      if (texts.length || images.length) throw new UsageError("--text/--image print JSON lines; --images/--out write Parquet: use one or the other");
      const maxPixels = intFlag("max-pixels", values["max-pixels"]) ?? DEFAULT_MAX_PIXELS;
      const timeoutS = intFlag("dist-timeout", values["dist-timeout"]) ?? 300;
      const nproc = intFlag("nproc", values.nproc) ?? 1;
      if (nproc > 1) return relaunchAsRanks("embed", argv, nproc, timeoutS);
      return embedFolder(values.model, values.images, values.out, { vision: values.vision, device: values.device, precision, batchSize, maxPixels, timeoutS, quiet: values.quiet === true, fileList: values["file-list"] });
    }
    if (texts.length === 0 && images.length === 0) throw new UsageError("give at least one --text or --image, or --images DIR --out DIR");
    using model = await loadModel(values.model, { vision: values.vision, device: values.device, precision });
    const print = (input: string, kind: string, e: Float32Array) =>
      process.stdout.write(JSON.stringify({ input, kind, embedding: Array.from(e, (v) => Number(v.toPrecision(7))) }) + "\n");
    if (texts.length) (await model.encodeTexts(texts, { batchSize })).forEach((e, i) => print(texts[i]!, "text", e));
    if (images.length) (await model.encodeImages(images, { batchSize })).forEach((e, i) => print(images[i]!, "image", e));
    return 0;
  },
};

interface FolderOptions {
  vision?: string;
  device?: string;
  precision: Precision;
  batchSize?: number;
  maxPixels: number;
  timeoutS: number;
  quiet: boolean;
  fileList?: string;
}

/** This rank's part of `koclip embed --images DIR --out OUT`. */
async function embedFolder(modelDir: string, dir: string, out: string, opts: FolderOptions): Promise<number> {
  const world = worldFromEnv();
  const who = world.worldSize > 1 ? `rank ${world.rank}/${world.worldSize}: ` : "";
  // The rank's share of the cores serves libtorch's threads and the prepare workers alike.
  const coreShare = shareCores(world);
  checkOutFolder(out, world.worldSize);
  const plan = await planShard(dir, modelDir, world, { precision: opts.precision, "max pixels": String(opts.maxPixels), "vision tower": opts.vision ?? "(the model's)" }, opts.fileList);
  // Joining checks the world size; then every setting, before any rank loads a model or writes.
  const group = world.worldSize > 1 ? ProcessGroup.init(world, { timeoutMs: opts.timeoutS * 1000 }) : null;
  let model: Awaited<ReturnType<typeof loadModel>> | null = null;
  try {
    if (group) {
      for (const [what, value] of Object.entries(plan.agreement)) group.agree(what, value);
      group.barrier(); // rank 0 hosts the store: it stays until every rank has read it
    }
    const device = opts.device === "cuda" && world.worldSize > 1 ? `cuda:${world.localRank}` : opts.device;
    if (plan.end > plan.start) startPrepareWorkers(coreShare); // while the model loads: embedShard's pool takes them
    model = await loadModel(modelDir, { vision: opts.vision, device, precision: opts.precision });
    const onProgress = opts.quiet ? undefined : (done: number, total: number) => process.stderr.write(`${who}${done}/${total} images\n`);
    const report = await embedShard(plan, model, { out, batchSize: opts.batchSize, maxPixels: opts.maxPixels, onProgress, prepareWorkers: coreShare });
    const slice = plan.end > plan.start ? `${plan.start}..${plan.end - 1}` : "none";
    console.log(`${who}wrote ${report.file}: ${report.rows} images (${slice} of ${plan.files.length}), ${report.skipped.length} skipped (${report.seconds.toFixed(1)} s)`);
    for (const s of report.skipped) console.log(`  skipped ${s.path}: ${s.reason}`);
  } finally {
    model?.dispose();
    group?.dispose();
  }
  return 0;
}
