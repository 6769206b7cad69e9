// Zero-shot accuracy by hand (top-k, ties, per class, groups), retrieval items, progress lines.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { formatMarkdownTable, languageFile, parseModelSpecs } from "../../src/eval/compare.js";
import { markdownTable } from "../../src/eval/report.js";
import { progressReporter } from "../../src/cli/progress.js";
import { retrievalItems } from "../../src/eval/retrieval.js";
import { groupOf, NO_GROUP, perClassAccuracy, topKAccuracy, zeroShotMetrics } from "../../src/eval/zero_shot_accuracy.js";

// 4 images, 3 classes.
const scores = [
  [0.9, 0.1, 0.0], // true 0: rank 0
  [0.5, 0.2, 0.7], // true 1: rank 2
  [0.3, 0.3, 0.1], // true 1: ties class 0, which comes first -> rank 1
  [0.2, 0.6, 0.4], // true 2: rank 1
];
const labels = [0, 1, 1, 2];

test("topKAccuracy: true class among the k best, ties to the earlier class", () => {
  assert.equal(topKAccuracy(scores, labels, 1), 1 / 4);
  assert.equal(topKAccuracy(scores, labels, 2), 3 / 4);
  assert.equal(topKAccuracy(scores, labels, 3), 1);
  assert.equal(topKAccuracy(scores, labels, 5), 1); // fewer classes than k: all hits
  assert.equal(topKAccuracy([[0.3, 0.3]], [0], 1), 1);
  assert.throws(() => topKAccuracy(scores, [0, 1, 1], 1), /4 score rows but 3 labels/);
  assert.throws(() => topKAccuracy(scores, [0, 1, 1, 3], 1), /labels\[3\] = 3 is not a class index/);
  assert.throws(() => topKAccuracy([], [], 1), /no images/);
});

test("perClassAccuracy: top-1 per class, classes without images left out", () => {
  assert.deepEqual(perClassAccuracy(scores, labels, ["고양이", "개", "새", "말"]), [
    { label: "고양이", n: 1, top1: 1 },
    { label: "개", n: 2, top1: 0 },
    { label: "새", n: 1, top1: 0 },
  ]);
  assert.deepEqual(perClassAccuracy([[0.9, 0.1], [0.8, 0.3], [0.1, 0.6]], [0, 1, 1], ["cat", "dog"]), [
    { label: "cat", n: 1, top1: 1 },
    { label: "dog", n: 2, top1: 0.5 },
  ]);
});

test("zeroShotMetrics: overall, per class and per group", () => {
  const r = zeroShotMetrics(scores, labels, ["a", "b", "c"], ["seen", "heldout", "seen", "heldout"]);
  assert.equal(r.top1, 0.25);
  assert.equal(r.top5, 1);
  assert.equal(r.n, 4);
  assert.deepEqual(Object.keys(r.groups!), ["seen", "heldout"]);
  // seen = images 0, 2: ranks 0, 1.  heldout = images 1, 3: ranks 2, 1.
  assert.deepEqual(r.groups, { seen: { top1: 0.5, top5: 1, n: 2 }, heldout: { top1: 0, top5: 1, n: 2 } });
  assert.equal(zeroShotMetrics(scores, labels, ["a", "b", "c"]).groups, undefined);
  // 6 classes so top-5 can miss: the true class ranks 5th (0-based) on row 0.
  const six = [[0.1, 0.6, 0.5, 0.4, 0.3, 0.2], [0.9, 0.1, 0.1, 0.1, 0.1, 0.1]];
  const r6 = zeroShotMetrics(six, [0, 5], ["a", "b", "c", "d", "e", "f"]);
  // row 0: rank 5 (miss at 5); row 1: class 5 ties classes 1-4 which come first -> rank 5 (miss)
  assert.deepEqual([r6.top1, r6.top5], [0, 0]);
  const r6b = zeroShotMetrics(six, [0, 4], ["a", "b", "c", "d", "e", "f"]);
  assert.deepEqual([r6b.top1, r6b.top5], [0, 0.5]); // row 1: class 4 ranks 4 -> top-5 hit
});

test("groupOf: strings as is, other values as JSON, missing as (none)", () => {
  assert.equal(groupOf({ split: "seen" }, "split"), "seen");
  assert.equal(groupOf({ n: 3 }, "n"), "3");
  assert.equal(groupOf({}, "split"), NO_GROUP);
  assert.equal(groupOf({ split: null }, "split"), NO_GROUP);
});

test("retrievalItems: every caption is a text; rows naming the same image merge", () => {
  const row = (image: string, texts: string[], line: number) => ({ image, texts, line, extra: {} });
  const items = retrievalItems([row("/a.png", ["고양이", "야옹"], 1), row("/b.png", ["개"], 2), row("/a.png", ["냥이"], 3)]);
  assert.deepEqual(items, { images: ["/a.png", "/b.png"], texts: ["고양이", "야옹", "개", "냥이"], textToImage: [0, 0, 1, 0] });
});

test("progressReporter: one line per 10% on a pipe, in-place redraws on a TTY", () => {
  let clock = 0;
  const out: string[] = [];
  const pipe = { write: (s: string) => out.push(s) };
  const p = progressReporter("images", 20, pipe, () => clock);
  for (let i = 0; i < 20; i++) {
    clock += 500; // 2 items/s
    p.tick(1);
  }
  p.done();
  assert.equal(out.length, 10);
  assert.equal(out[0], "images 2/20 (10.0%) 2.0/s\n");
  assert.equal(out[9], "images 20/20 (100.0%) 2.0/s\n");
  const tty: string[] = [];
  clock = 0;
  const q = progressReporter("texts", 3, { write: (s: string) => tty.push(s), isTTY: true }, () => clock);
  clock = 1000;
  q.tick(1);
  clock = 1050;
  q.tick(1); // within 100 ms of the last draw: skipped
  clock = 1500;
  q.tick(1);
  q.done();
  assert.deepEqual(tty, ["\rtexts 1/3 (33.3%) 1.0/s\x1b[K", "\rtexts 3/3 (100.0%) 2.0/s\x1b[K", "\rtexts 3/3 (100.0%) 2.0/s\x1b[K\n"]);
});

test("parseModelSpecs: names deep enough to tell the folders apart; M-CLIP pairs", () => {
  assert.deepEqual(parseModelSpecs(["models/a", "m/mclip+m/clip"]), [
    { name: "a", dir: "models/a" },
    { name: "mclip+clip", dir: "m/mclip", vision: "m/clip" },
  ]);
  assert.deepEqual(parseModelSpecs(["/x/koclip/model", "/x/mclip/model+/x/clip/model", "/x/koclip/model"]).map((s) => s.name), [
    "koclip/model", "mclip/model+clip/model", "koclip/model (2)",
  ]);
  assert.throws(() => parseModelSpecs(["a+b+c"]), /expected DIR or MCLIP_DIR\+CLIP_DIR/);
  assert.throws(() => parseModelSpecs(["a+"]), /expected DIR/);
});

test("languageFile: en takes the -en sibling when there is one", () => {
  const dir = mkdtempSync(join(tmpdir(), "koclip-lang-"));
  writeFileSync(join(dir, "cls.jsonl"), "");
  writeFileSync(join(dir, "cls-en.jsonl"), "");
  writeFileSync(join(dir, "pairs.jsonl"), "");
  assert.equal(languageFile(join(dir, "cls.jsonl"), "ko"), join(dir, "cls.jsonl"));
  assert.equal(languageFile(join(dir, "cls.jsonl"), "en"), join(dir, "cls-en.jsonl"));
  assert.equal(languageFile(join(dir, "cls-en.jsonl"), "en"), join(dir, "cls-en.jsonl"));
  assert.equal(languageFile(join(dir, "pairs.jsonl"), "en"), join(dir, "pairs.jsonl"));
  rmSync(dir, { recursive: true });
});

test("formatMarkdownTable: zero-shot and retrieval columns as percentages; blanks where a row lacks one", () => {
  const t = formatMarkdownTable([
    { model: "a", lang: "ko", zeroShot: { file: "c", top1: 0.5, top5: 1, n: 2 }, retrieval: { file: "p", imageToText: { 1: 0.25, 5: 1 }, textToImage: { 1: 0.125, 5: 0.75 }, images: 4, texts: 8 } },
    { model: "모델", lang: "en", zeroShot: { file: "c", top1: 1 / 3, top5: 2 / 3, n: 3 } },
  ]);
  assert.equal(t, [
    "| model | lang | top-1  | top-5   | I→T R@1 | I→T R@5 | T→I R@1 | T→I R@5 |",
    "| ----- | ---- | ------ | ------- | ------- | ------- | ------- | ------- |",
    "| a     | ko   | 50.00% | 100.00% | 25.00%  | 100.00% | 12.50%  | 75.00%  |",
    "| 모델  | en   | 33.33% | 66.67%  |         |         |         |         |",
  ].join("\n"));
  assert.equal(markdownTable(["x"], [["고양이"]]), "| x      |\n| ------ |\n| 고양이 |");
});
