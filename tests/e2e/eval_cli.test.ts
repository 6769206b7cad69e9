// `koclip eval` and `koclip compare` as a user runs them, on the koclip-tiny fixture: every number
// printed must equal the pure functions applied to the library's own embeddings, and one
// independent count (argmax by plain dot products) checks the pure functions themselves.
// The commands run in a child process through a small runner that mirrors cli/main.ts, so this
// test does not depend on the commands being registered in cli/commands/registry.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readClassification, readPairs } from "../../src/data/datasets.js";
import { buildEmojiDataset } from "../../src/data/emoji.js";
import { evaluateRetrieval, retrievalItems } from "../../src/eval/retrieval.js";
import { evaluateZeroShot, zeroShotMetrics } from "../../src/eval/zero_shot_accuracy.js";
import { percent } from "../../src/eval/report.js";
import { loadModel } from "../../src/models/load.js";
import type { PretrainedModel } from "../../src/models/pretrained.js";
import { recallAtK, similarityMatrix } from "../../src/tasks/ranking.js";
import { classEmbeddings, ENGLISH_TEMPLATES, KOREAN_TEMPLATES } from "../../src/tasks/zero_shot.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";

const tmp = mkdtempSync(join(tmpdir(), "koclip-eval-cli-"));
const MODEL = fixture("koclip-tiny", "model");
const IMAGES = ["gray_256.png", "photo_640x480.png", "photo_800x600.jpg", "rgba_320x240.png", "small_100x60.png", "square_224.png", "tall_300x500.png"].map((f) => fixture("image-processor", "images", f));
const commandsDir = fileURLToPath(new URL("../../src/cli/commands/", import.meta.url));

const RUNNER = join(tmp, "runner.mjs");
writeFileSync(RUNNER, `// runs one command module like cli/main.ts does
const [file, exportName, ...argv] = process.argv.slice(2);
const command = (await import(file))[exportName];
try {
  process.exitCode = await command.run(argv);
} catch (err) {
  const usage = err.constructor.name === "UsageError";
  console.error("koclip " + command.name + ": " + err.message + (usage ? "\\n\\n" + command.usage : ""));
  process.exitCode = usage ? 2 : 1;
}
`);

function run(module: "eval" | "compare", ...args: string[]) {
  const r = spawnSync(join(REPO_ROOT, "bin", "koclip-node"), [RUNNER, join(commandsDir, `${module}.js`), `${module}Command`, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.trimEnd().split("\n") };
}
const lastJson = (stdout: string) => JSON.parse(stdout.trimEnd().split("\n").at(-1)!);

let model: PretrainedModel;
before(async () => {
  model = await loadModel(MODEL);
});
after(() => {
  model?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

// A classification file with 7 good rows (some paths relative to the file), a blank line and
// two bad rows: line 3 is not JSON, line 6 names a missing image.
const LABELS = ["고양이", "개", "고양이", "새", "개", "고양이", "새"];
const SPLITS = ["seen", "heldout", "seen", "seen", "heldout", "heldout", "seen"];
const CLS = join(tmp, "cls.jsonl");
const clsRow = (i: number) => JSON.stringify({ image: i % 2 ? relative(tmp, IMAGES[i]!) : IMAGES[i], label: LABELS[i], split: SPLITS[i] });
writeFileSync(CLS, [clsRow(0), clsRow(1), "{oops", clsRow(2), "", JSON.stringify({ image: "nope.png", label: "개" }), clsRow(3), clsRow(4), clsRow(5), clsRow(6)].join("\n") + "\n");

/** Top-1 hits counted the plain way: argmax of dot products, first index on ties. */
function argmaxHits(images: Float32Array[], classes: Float32Array[], labels: number[]): number {
  return images.filter((img, i) => {
    let best = 0, bestScore = -Infinity;
    classes.forEach((c, k) => {
      const s = img.reduce((acc, v, d) => acc + v * c[d]!, 0);
      if (s > bestScore) [best, bestScore] = [k, s];
    });
    return best === labels[i];
  }).length;
}

test("eval zeroshot prints top-1/top-5/n, per class and per group equal to the pure functions", async () => {
  const r = run("eval", "zeroshot", "--model", MODEL, "--data", CLS, "--per-class", "--by", "split", "--json");
  assert.equal(r.status, 0, r.stderr);
  // bad rows: line numbers count the blank line
  assert.match(r.stderr, new RegExp(`${CLS}:3: invalid JSON`));
  assert.ok(r.stderr.includes(`${CLS}:6: image not found: nope.png`), r.stderr);
  assert.match(r.stderr, /2 bad rows skipped/);

  const classes = ["고양이", "개", "새"];
  const labels = LABELS.map((l) => classes.indexOf(l));
  const classRows = await classEmbeddings(model, classes, KOREAN_TEMPLATES);
  const images = await model.encodeImages(IMAGES);
  const expected = zeroShotMetrics(similarityMatrix(images, classRows), labels, classes, SPLITS);
  assert.equal(expected.top1 * 7, argmaxHits(images, classRows, labels));
  assert.equal(expected.top5, 1); // 3 classes: every image is a top-5 hit

  assert.deepEqual(lastJson(r.stdout), { top1: expected.top1, top5: expected.top5, n: 7, groups: expected.groups, perClass: expected.perClass });
  assert.equal(r.lines[0], `${CLS}: 7 images, 3 classes, ${KOREAN_TEMPLATES.length} templates`);
  assert.equal(r.lines[1], `top-1  ${percent(expected.top1).padStart(7)}  (${Math.round(expected.top1 * 7)}/7)`);
  assert.equal(r.lines[2], `top-5  100.00%  (7/7)`);
  assert.equal(r.lines[3], "n      7");
  const cells = (line: string) => line.split("|").slice(1, -1).map((c) => c.trim());
  const tableRows = r.lines.filter((l) => l.startsWith("| ") && !l.startsWith("| -")).map(cells);
  for (const c of expected.perClass) assert.ok(tableRows.some((t) => t.join() === [c.label, String(c.n), percent(c.top1)].join()), `per-class row for ${c.label}`);
  for (const [g, m] of Object.entries(expected.groups!)) assert.ok(tableRows.some((t) => t.join() === [g, String(m.n), percent(m.top1), percent(m.top5)].join()), `group row for ${g}`);
  assert.deepEqual(Object.keys(expected.groups!), ["seen", "heldout"]);
  assert.equal(expected.groups!.seen!.n + expected.groups!.heldout!.n, 7);
});

test("eval zeroshot --strict stops at the first bad row with file:line", () => {
  const r = run("eval", "zeroshot", "--model", MODEL, "--data", CLS, "--strict");
  assert.equal(r.status, 1);
  assert.match(r.stderr.trim(), new RegExp(`^koclip eval: ${CLS}:3: invalid JSON`));
  assert.equal(r.stdout, "");
});

test("eval zeroshot with --templates en and --classes: extra classes compete, unknown labels are bad rows", async () => {
  const classesFile = join(tmp, "classes.txt");
  writeFileSync(classesFile, "말\n고양이\n개\n"); // no 새: rows 4 and 7 (lines 7, 10) become bad rows
  const r = run("eval", "zeroshot", "--model", MODEL, "--data", CLS, "--classes", classesFile, "--templates", "en", "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stderr.includes(`${CLS}:7: label '새' is not in ${classesFile}`), r.stderr);
  assert.ok(r.stderr.includes(`${CLS}:10: label '새' is not in ${classesFile}`), r.stderr);
  assert.match(r.stderr, /4 bad rows skipped/);
  const classes = ["말", "고양이", "개"];
  const keep = [0, 1, 2, 4, 5];
  const labels = keep.map((i) => classes.indexOf(LABELS[i]!));
  const classRows = await classEmbeddings(model, classes, ENGLISH_TEMPLATES);
  const images = await model.encodeImages(keep.map((i) => IMAGES[i]!));
  const expected = zeroShotMetrics(similarityMatrix(images, classRows), labels, classes);
  assert.equal(expected.top1 * 5, argmaxHits(images, classRows, labels));
  assert.deepEqual(lastJson(r.stdout), { top1: expected.top1, top5: expected.top5, n: 5 });
});

test("eval retrieval prints Recall@1/5/10 both ways equal to recallAtK on the library's embeddings", async () => {
  const pairs = join(tmp, "pairs.jsonl");
  // image 0 appears twice: its rows merge, so it owns three captions
  const rows = [
    { image: IMAGES[0], texts: ["회색 사진", "회색"] },
    { image: IMAGES[1], text: "풍경 사진" },
    { image: IMAGES[2], texts: ["고양이 사진", "사진"] },
    { image: IMAGES[3], text: "투명한 그림" },
    { image: IMAGES[0], text: "회색 사각형" },
    { image: IMAGES[4], texts: ["작은 그림", "작은 사진"] },
    { image: IMAGES[5], text: "정사각형" },
    { image: IMAGES[6], text: "세로로 긴 사진" },
  ];
  writeFileSync(pairs, rows.map((x) => JSON.stringify(x)).join("\n") + "\n" + JSON.stringify({ image: IMAGES[1], text: "" }) + "\n");
  const r = run("eval", "retrieval", "--model", MODEL, "--data", pairs, "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stderr.includes(`${pairs}:9: empty text`), r.stderr);

  const items = retrievalItems(readPairs(pairs).rows);
  assert.equal(items.images.length, 7);
  assert.deepEqual(items.textToImage, [0, 0, 1, 2, 2, 3, 0, 4, 4, 5, 6]);
  const imageEmb = await model.encodeImages(items.images);
  const textEmb = await model.encodeTexts(items.texts);
  const expected = recallAtK(imageEmb, textEmb, items.textToImage);
  // text→image R@1 by plain argmax over images
  const t2i1 = textEmb.filter((t, j) => {
    const s = imageEmb.map((img) => img.reduce((acc, v, d) => acc + v * t[d]!, 0));
    return s.indexOf(Math.max(...s)) === items.textToImage[j];
  }).length;
  assert.equal(expected.textToImage[1], t2i1 / 11);
  assert.equal(expected.imageToText[10], 1); // 11 texts, image 0 owns 3: at most 8 rank above its best

  assert.deepEqual(lastJson(r.stdout), { ...expected, images: 7, texts: 11 });
  assert.equal(r.lines[0], `${pairs}: 7 images, 11 texts`);
  const cells = (line: string) => line.split("|").slice(1, -1).map((c) => c.trim());
  assert.deepEqual(cells(r.lines.find((l) => l.startsWith("| image→text"))!), ["image→text", ...[1, 5, 10].map((k) => percent(expected.imageToText[k]!))]);
  assert.deepEqual(cells(r.lines.find((l) => l.startsWith("| text→image"))!), ["text→image", ...[1, 5, 10].map((k) => percent(expected.textToImage[k]!))]);
});

test("eval: usage errors exit 2 with the usage", () => {
  const noTask = run("eval", "--model", MODEL, "--data", CLS);
  assert.equal(noTask.status, 2);
  assert.match(noTask.stderr, /say what to evaluate: zeroshot or retrieval/);
  assert.match(noTask.stderr, /usage: koclip eval zeroshot/);
  assert.match(run("eval", "retrieval", "--model", MODEL, "--data", CLS, "--per-class").stderr, /--per-class applies to zeroshot only/);
  assert.match(run("eval", "zeroshot", "--model", MODEL, "--data", join(tmp, "absent.jsonl")).stderr, /absent\.jsonl: no such file/);
});

test("compare on a small emoji build: ko uses the files as given, en the -en siblings, numbers as eval computes them", async () => {
  const emoji = join(tmp, "emoji");
  await buildEmojiDataset({ outDir: emoji, limit: 12, size: 32, styles: ["twemoji", "openmoji"] });
  const cls = join(emoji, "openmoji-cls.jsonl");
  const pairs = join(emoji, "openmoji-pairs.jsonl");
  const mclip = `${fixture("mclip-tiny", "model")}+${fixture("clip-tiny", "model")}`;
  const r = run("compare", "--models", `${MODEL},${mclip}`, "--data", `${pairs},${cls}`, "--lang", "ko,en", "--json");
  assert.equal(r.status, 0, r.stderr);
  const rows = lastJson(r.stdout);
  assert.deepEqual(rows.map((x: { model: string; lang: string }) => [x.model, x.lang]), [
    ["koclip-tiny/model", "ko"], ["koclip-tiny/model", "en"], ["mclip-tiny/model+clip-tiny/model", "ko"], ["mclip-tiny/model+clip-tiny/model", "en"],
  ]);
  assert.equal(rows[0].zeroShot.file, cls);
  assert.equal(rows[1].zeroShot.file, join(emoji, "openmoji-cls-en.jsonl"));
  assert.equal(rows[1].retrieval.file, join(emoji, "openmoji-pairs-en.jsonl"));
  // koclip-tiny's numbers, recomputed through the library
  for (const [i, lang] of [[0, "ko"], [1, "en"]] as const) {
    const data = readClassification(rows[i].zeroShot.file);
    const z = await evaluateZeroShot(model, data, { templates: lang === "ko" ? KOREAN_TEMPLATES : ENGLISH_TEMPLATES });
    assert.deepEqual(rows[i].zeroShot, { file: data.file, top1: z.top1, top5: z.top5, n: 12 });
    const p = await evaluateRetrieval(model, readPairs(rows[i].retrieval.file));
    assert.deepEqual(rows[i].retrieval, { file: rows[i].retrieval.file, ...p });
  }
  // the markdown table shows the same numbers as percentages
  const cells = (line: string) => line.split("|").slice(1, -1).map((c) => c.trim());
  const row0 = r.lines.map(cells).find((c) => c[0] === "koclip-tiny/model" && c[1] === "ko")!;
  const z0 = rows[0].zeroShot, p0 = rows[0].retrieval;
  assert.deepEqual(row0.slice(2), [z0.top1, z0.top5, ...[1, 5, 10].map((k) => p0.imageToText[k]), ...[1, 5, 10].map((k) => p0.textToImage[k])].map(percent));

  // eval --by split on the same build: seen and heldout groups add up to n
  const e = run("eval", "zeroshot", "--model", MODEL, "--data", cls, "--by", "split", "--json");
  assert.equal(e.status, 0, e.stderr);
  const j = lastJson(e.stdout);
  assert.equal(j.top1, rows[0].zeroShot.top1);
  assert.equal(Object.values(j.groups as Record<string, { n: number }>).reduce((s, g) => s + g.n, 0), 12);
});
