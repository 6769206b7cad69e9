/**
 * GPU training throughput: koclip-base shapes (ViT-B/32 + RoBERTa-large, 512-d projections),
 * batch 256 pairs of 224 px images and 32-token texts, bf16 autocast, AdamW with decay groups,
 * CLIP's contrastive loss: forward, backward and step, as `koclip train` runs them.
 * The peer is Hugging Face transformers' number for the same shapes on an H200, measured
 * elsewhere: it is printed as a reference, not measured in this run.
 */
import { KoClipModel, parseKoClipConfig } from "../src/models/koclip/index.js";
import { VarStore } from "../src/nn/index.js";
import { AdamW, decayGroups } from "../src/optim/index.js";
import * as T from "../src/torch/index.js";
import { KOCLIP_BASE_CONFIG } from "./koclip_base.js";
import type { BenchRow } from "./table.js";
import { log, secondsPerCall, type BenchOptions } from "./timing.js";

const HF_H200_PAIRS_PER_SECOND = 2371;
const BATCH = 256;
const TEXT_LENGTH = 32;

export async function benchGpu(opts: BenchOptions): Promise<BenchRow[]> {
  const row: BenchRow = {
    name: `training koclip-base, batch ${BATCH}, bf16 autocast, AdamW (CUDA)`, unit: "pairs/s", ours: null,
    peer: HF_H200_PAIRS_PER_SECOND, peerName: "HF transformers on an H200 (reference, not this run)", higherIsBetter: true,
  };
  if (!T.cudaAvailable()) return [{ ...row, note: "skipped (no CUDA)" }];
  const batch = opts.quick ? 32 : BATCH;
  log(`training steps on CUDA, batch ${batch}`);
  T.manualSeed(0);
  const store = VarStore.fresh({ device: "cuda", trainable: true });
  const model = new KoClipModel(store, parseKoClipConfig(KOCLIP_BASE_CONFIG, "koclip-base (bench)"));
  const opt = new AdamW(decayGroups(store.vars, 0.1), { lr: 1e-4 });
  const pixels = T.randn([batch, 3, 224, 224], { seed: 1, device: "cuda" });
  const ids = T.tidy(() => T.rand([batch, TEXT_LENGTH], { seed: 2, device: "cuda" }).mul(31990).add(5).toDtype("int64")); // ids 5..31994
  const mask = T.onesLike(ids);
  const step = () => {
    T.tidy(() => {
      const loss = T.autocast("cuda", () => model.forward(pixels, { inputIds: ids, attentionMask: mask }).loss);
      loss.backward();
      opt.step();
      opt.zeroGrad();
    });
    T.cudaSynchronize();
  };
  const seconds = await secondsPerCall(step, opts.quick ? 2 : 20, { warmup: 3 });
  opt.dispose();
  store.dispose();
  T.disposeAll([pixels, ids, mask]);
  return [{ ...row, name: row.name.replace(`batch ${BATCH}`, `batch ${batch}`), ours: batch / seconds }];
}
