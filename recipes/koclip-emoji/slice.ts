/**
 * The evaluation slice a test re-runs: zero-shot Korean top-1/top-5 on the OpenMoji rendering of
 * the first 200 CLDR concepts (200 classes, Korean templates). The full table lives in the
 * model card (models/koclip-emoji/README.md); this slice is small enough to recompute in the test suite and must match exactly.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEmojiDataset } from "../../src/data/emoji.js";
import { readClassification } from "../../src/data/datasets.js";
import { evaluateZeroShot } from "../../src/eval/zero_shot_accuracy.js";
import type { PretrainedModel } from "../../src/models/pretrained.js";
import { KOREAN_TEMPLATES } from "../../src/tasks/zero_shot.js";

export const SLICE_CONCEPTS = 200;

export interface SliceResult {
  concepts: number;
  n: number;
  top1: number;
  top5: number;
}

export async function evaluateSlice(model: PretrainedModel): Promise<SliceResult> {
  const dir = mkdtempSync(join(tmpdir(), "koclip-slice-"));
  try {
    await buildEmojiDataset({ outDir: dir, styles: ["openmoji"], limit: SLICE_CONCEPTS, size: 64, seed: 0 });
    const r = await evaluateZeroShot(model, readClassification(join(dir, "openmoji-cls.jsonl")), { templates: KOREAN_TEMPLATES });
    return { concepts: SLICE_CONCEPTS, n: r.n, top1: r.top1, top5: r.top5 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
