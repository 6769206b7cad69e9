/**
 * One training step on the CPU against PyTorch: forward, backward and AdamW of the koclip-emoji
 * shapes (ViT 64 px / 8 px patches and RoBERTa, 4 layers of 192 each, 192-d projections) at
 * batch 256, fp32 and under bf16 autocast, in pairs (image, caption) per second.
 *
 * Ours: the step `koclip train` runs (train.ts's batchLoss, then AdamW over decayGroups), fresh
 * weights, a batch of 256 Korean emoji names (tokenised by the shipped tokenizer, padded to the
 * longest) and random pixels. The peer: the same model written in PyTorch eager as Hugging Face
 * runs it (bench/train_peer.py), Debian's python3-torch on the same libtorch, the same threads,
 * the same token ids and mask, spawned as a separate process. Each side is measured twice, in
 * turns (ours, the peer's, ours, the peer's), and the better of its two rounds is kept.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadImageProcessorConfig } from "../src/image/index.js";
import { koclipConfigJson, KoClipModel, parseKoClipConfig } from "../src/models/koclip/index.js";
import { PretrainedModel } from "../src/models/pretrained.js";
import { VarStore } from "../src/nn/index.js";
import { AdamW, decayGroups } from "../src/optim/index.js";
import * as T from "../src/torch/index.js";
import { batchLoss } from "../src/train/train.js";
import { REPO_ROOT } from "../tests/helpers/fixtures.js";
import { benchTokenizer, koreanEmojiTexts } from "./inputs.js";
import type { BenchRow } from "./table.js";
import { log, secondsPerCall, type BenchOptions } from "./timing.js";

const PYTHON = "/usr/bin/python3"; // Debian's, where python3-torch installs (not a pyenv shim)
const PEER_SCRIPT = fileURLToPath(new URL("../../bench/train_peer.py", import.meta.url));
const BATCH = 256;
const ROUNDS = 2;
/** The goal: a training step ≥ 1.1× PyTorch's pairs/s. */
const GOAL = 1.1;
const AMPS = [["none", "fp32"], ["bf16", "bf16"]] as const;

/** Pairs per second of our step under each autocast setting, timed for `minSeconds` each. */
async function ours(model: PretrainedModel, texts: string[], minSeconds: number): Promise<Record<string, number>> {
  const s = model.encoder.imageSize;
  const batch = { pixels: T.randn([BATCH, 3, s, s], { seed: 1 }).toFloat32Array(), shape: [BATCH, 3, s, s] as [number, number, number, number], texts, groups: texts.map((_, i) => String(i)) };
  const named = new Map([...model.encoder.store.vars].filter(([, p]) => p.requiresGrad));
  const opt = new AdamW(decayGroups(named, 0.1), { lr: 1e-4 });
  const out: Record<string, number> = {};
  try {
    for (const [amp, key] of AMPS) {
      const step = () => {
        T.tidy(() => {
          const loss = batchLoss(model, batch, amp);
          loss.backward();
          return loss.item();
        });
        opt.step();
        opt.zeroGrad();
      };
      out[key] = BATCH / await secondsPerCall(step, minSeconds, { warmup: 2 });
    }
  } finally {
    opt.dispose();
  }
  return out;
}

/** The peer's pairs per second (null, with the reason logged, when python3-torch is missing or fails). */
function peer(work: string, model: PretrainedModel, texts: string[], minSeconds: number): Record<string, number | string> | null {
  if (!existsSync(PYTHON)) {
    log(`${PYTHON} missing: the training rows have no peer (apt-get install python3-torch)`);
    return null;
  }
  const tokens = model.tokenize(texts);
  const length = tokens.inputIds.shape[1]!;
  const rows = (t: T.Tensor) => { const flat = t.toArray(); return Array.from({ length: BATCH }, (_, i) => flat.slice(i * length, (i + 1) * length)); };
  const args = join(work, "args.json");
  writeFileSync(args, JSON.stringify({
    config: join(REPO_ROOT, "models", "koclip-emoji", "config.json"), ids: rows(tokens.inputIds), mask: rows(tokens.attentionMask),
    image_size: model.encoder.imageSize, threads: T.numThreads(), min_seconds: minSeconds, amps: AMPS.map(([, key]) => key),
  }));
  T.disposeAll([tokens.inputIds, tokens.attentionMask]);
  const r = spawnSync(PYTHON, [PEER_SCRIPT, args], { encoding: "utf8" });
  if (r.status !== 0) {
    log(`peer ${PEER_SCRIPT} failed: ${r.stderr.trim().split("\n").pop()}`);
    return null;
  }
  return JSON.parse(r.stdout);
}

export async function benchTrain(opts: BenchOptions): Promise<BenchRow[]> {
  const minSeconds = opts.quick ? 1 : 10;
  const dir = join(REPO_ROOT, "models", "koclip-emoji");
  const cfg = parseKoClipConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")), "koclip-emoji (bench)");
  T.manualSeed(0);
  const model = new PretrainedModel(new KoClipModel(VarStore.fresh({ trainable: true }), cfg), await benchTokenizer(), await loadImageProcessorConfig(dir), "(bench: koclip-emoji shapes, fresh weights)", koclipConfigJson(cfg));
  const texts = koreanEmojiTexts().slice(0, BATCH);
  const work = mkdtempSync(join(tmpdir(), "koclip-bench-train-"));
  const best = { ours: {} as Record<string, number>, peer: {} as Record<string, number> };
  let version = "";
  try {
    for (let round = 0; round < ROUNDS; round++) {
      log(`train: koclip step, round ${round + 1}`);
      for (const [k, v] of Object.entries(await ours(model, texts, minSeconds))) best.ours[k] = Math.max(best.ours[k] ?? 0, v);
      log(`train: python3-torch step, round ${round + 1}`);
      const p = peer(work, model, texts, minSeconds);
      if (!p) break;
      version = String(p.version);
      for (const [, key] of AMPS) best.peer[key] = Math.max(best.peer[key] ?? 0, Number(p[key]));
    }
  } finally {
    model.dispose();
    rmSync(work, { recursive: true, force: true });
  }
  return AMPS.map(([, key]) => ({
    name: `training step (forward+backward+AdamW), koclip-emoji shapes, batch ${BATCH}, ${key === "fp32" ? "fp32" : "bf16 autocast"}`,
    unit: "pairs/s", ours: best.ours[key]!, peer: best.peer[key] ?? null, peerName: version ? `python3-torch ${version} (eager, same model, ${T.numThreads()} threads)` : "python3-torch (missing)",
    higherIsBetter: true, goal: { on: "ratio", atLeast: GOAL },
  }));
}
