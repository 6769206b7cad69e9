// Recall@k by hand: multi-caption images, ties broken by index, k above the candidate count.
import assert from "node:assert/strict";
import { test } from "node:test";
import { rankOf, recallAtK, recallFromScores, similarityMatrix } from "../../src/tasks/ranking.js";

test("rankOf: strictly higher scores, then equal scores at lower indices, come first", () => {
  assert.equal(rankOf([0.2, 0.9, 0.9, 0.1], 1), 0);
  assert.equal(rankOf([0.2, 0.9, 0.9, 0.1], 2), 1);
  assert.equal(rankOf([0.2, 0.9, 0.9, 0.1], 3), 3);
  assert.equal(rankOf([0.5, 0.5, 0.5], 2), 2);
  assert.equal(rankOf([NaN, 0.1], 1), 0);
});

// 3 images, 5 texts: texts 0 and 1 describe image 0, text 2 image 1, texts 3 and 4 image 2.
const textToImage = [0, 0, 1, 2, 2];
const scores = [
  [0.1, 0.8, 0.9, 0.2, 0.3], // image 0: caption 1 ranks 1 (behind text 2), caption 0 ranks 4 -> best 1
  [0.5, 0.1, 0.7, 0.6, 0.2], // image 1: caption 2 ranks 0
  [0.4, 0.4, 0.4, 0.1, 0.4], // image 2: caption 4 ties texts 0-2, which come first -> rank 3; caption 3 rank 4
];

test("recallFromScores: image→text counts an image as a hit if any caption is in its top k", () => {
  const r = recallFromScores(scores, textToImage, [1, 2, 4, 5]);
  // image ranks [1, 0, 3]
  assert.deepEqual(r.imageToText, { 1: 1 / 3, 2: 2 / 3, 4: 1, 5: 1 });
  // text→image columns: t0 [.1,.5,.4] own 0 -> 2; t1 [.8,.1,.4] -> 0; t2 [.9,.7,.4] own 1 -> 1;
  // t3 [.2,.6,.1] own 2 -> 2; t4 [.3,.2,.4] own 2 -> 0.  Ranks [2, 0, 1, 2, 0].
  assert.deepEqual(r.textToImage, { 1: 2 / 5, 2: 3 / 5, 4: 1, 5: 1 });
});

test("recallFromScores: ties in text→image go to the lower image index", () => {
  const tied = [[0.5, 0.5], [0.5, 0.5]];
  const r = recallFromScores(tied, [0, 1], [1, 2]);
  // image 0 -> text 0 rank 0 (hit); image 1 -> text 1 rank 1 (miss at 1)
  assert.deepEqual(r.imageToText, { 1: 0.5, 2: 1 });
  // text 0 -> image 0 rank 0; text 1 -> image 1 rank 1
  assert.deepEqual(r.textToImage, { 1: 0.5, 2: 1 });
});

test("recallFromScores: an image with no caption is a miss; bad input is refused", () => {
  const r = recallFromScores([[0.9], [0.1]], [0], [1]);
  assert.deepEqual(r, { imageToText: { 1: 0.5 }, textToImage: { 1: 1 } });
  assert.throws(() => recallFromScores(scores, [0, 0, 1, 2, 3]), /textToImage\[4\] = 3 is not an image index/);
  assert.throws(() => recallFromScores(scores, [0, 0, 1]), /scores\[0\] has 5 texts, textToImage has 3/);
  assert.throws(() => recallFromScores(scores, textToImage, [0]), /k must be a positive integer/);
});

test("similarityMatrix equals JS dot products, across row blocks", () => {
  const rand = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const r = rand(7);
  const a = Array.from({ length: 5 }, () => Float32Array.from({ length: 4 }, r));
  const b = Array.from({ length: 3 }, () => Float32Array.from({ length: 4 }, r));
  const m = similarityMatrix(a, b, 2);
  assert.equal(m.length, 5);
  a.forEach((x, i) => b.forEach((y, j) => {
    const dot = x.reduce((s, v, k) => s + v * y[k]!, 0);
    assert.ok(Math.abs(m[i]![j]! - dot) < 1e-6, `[${i}][${j}] ${m[i]![j]} vs ${dot}`);
  }));
  assert.throws(() => similarityMatrix([new Float32Array(2)], [new Float32Array(3)]), /b\[0\] has 3 values, expected 2/);
});

test("recallAtK on unit rows: cosine scores then the same ranking", () => {
  const s = Math.SQRT1_2;
  const images = [Float32Array.of(1, 0), Float32Array.of(0, 1)];
  // text 0 leans to image 0, text 1 sits between both (tie -> image 0 first), text 2 is image 1's.
  const texts = [Float32Array.of(0.8, 0.6), Float32Array.of(s, s), Float32Array.of(0, 1)];
  const r = recallAtK(images, texts, [0, 1, 1], [1, 2]);
  // image→text: image 0 scores [.8, .707, 0] -> own text 0 rank 0; image 1 scores [.6, .707, 1] -> own texts 1 (rank 1), 2 (rank 0)
  assert.deepEqual(r.imageToText, { 1: 1, 2: 1 });
  // text→image: text 0 -> image 0 rank 0; text 1 -> image 1 ties image 0 -> rank 1; text 2 -> image 1 rank 0
  assert.deepEqual(r.textToImage, { 1: 2 / 3, 2: 1 });
});
