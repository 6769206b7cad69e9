// JSONL dataset readers: paths relative to the file, text/texts, labels and classes files, bad
// rows with their line numbers, strict mode.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { formatBadRows, readClassification, readPairs } from "../../src/data/datasets.js";

const dir = mkdtempSync(join(tmpdir(), "koclip-datasets-"));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "a.png"), "x");
writeFileSync(join(dir, "b.png"), "x");
const abs = join(dir, "b.png");

function write(name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.join("\n") + "\n");
  return p;
}

test("readPairs: text and texts, relative and absolute paths, extra fields, blank lines", () => {
  const f = write("pairs.jsonl", [
    JSON.stringify({ image: "a.png", text: "고양이", key: "1f431", split: "seen" }),
    "",
    JSON.stringify({ image: abs, texts: ["개", "강아지"] }),
    "   ",
  ]);
  const d = readPairs(f);
  assert.equal(d.file, f);
  assert.deepEqual(d.bad, []);
  assert.deepEqual(d.rows, [
    { image: join(dir, "a.png"), texts: ["고양이"], line: 1, extra: { key: "1f431", split: "seen" } },
    { image: abs, texts: ["개", "강아지"], line: 3, extra: {} },
  ]);
});

test("readPairs: bad rows are skipped with their line numbers and reasons", () => {
  const f = write("bad-pairs.jsonl", [
    JSON.stringify({ image: "a.png", text: "ok" }), // 1 good
    "{not json", // 2
    JSON.stringify({ text: "no image" }), // 3
    JSON.stringify({ image: "", text: "empty image" }), // 4
    JSON.stringify({ image: "missing.png", text: "x" }), // 5
    JSON.stringify({ image: "a.png", text: "" }), // 6
    JSON.stringify({ image: "a.png", text: 7 }), // 7
    JSON.stringify({ image: "a.png", texts: ["ok", 3] }), // 8
    JSON.stringify({ image: "a.png" }), // 9
    "[1, 2]", // 10
    JSON.stringify({ image: "b.png", texts: ["fine"] }), // 11 good
  ]);
  const d = readPairs(f);
  assert.deepEqual(d.rows.map((r) => r.line), [1, 11]);
  assert.deepEqual(d.bad.map((b) => b.line), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const reasons = Object.fromEntries(d.bad.map((b) => [b.line, b.reason]));
  assert.match(reasons[2]!, /^invalid JSON/);
  assert.equal(reasons[3], "missing image");
  assert.equal(reasons[4], "empty image");
  assert.equal(reasons[5], "image not found: missing.png");
  assert.equal(reasons[6], "empty text");
  assert.equal(reasons[7], "text is number, expected a string");
  assert.equal(reasons[8], "texts[1] is number, expected a string");
  assert.equal(reasons[9], "missing text (or texts)");
  assert.equal(reasons[10], "not a JSON object");
  const report = formatBadRows(d, 3).split("\n");
  assert.deepEqual(report, [
    `${f}:2: ${reasons[2]}`,
    `${f}:3: missing image`,
    `${f}:4: empty image`,
    "... and 6 more",
    "9 bad rows skipped",
  ]);
  assert.equal(formatBadRows(readPairs(write("one-bad.jsonl", ["{}"]))).split("\n").at(-1), "1 bad row skipped");
  assert.equal(formatBadRows({ file: f, rows: [], bad: [] }), "");
});

test("readPairs strict: the first bad row throws file:line and the reason", () => {
  const f = write("strict.jsonl", [JSON.stringify({ image: "a.png", text: "ok" }), "", JSON.stringify({ image: "nope.png", text: "x" })]);
  assert.throws(() => readPairs(f, { strict: true }), { message: `${f}:3: image not found: nope.png` });
  assert.throws(() => readPairs(join(dir, "absent.jsonl")), { message: `${join(dir, "absent.jsonl")}: no such file` });
});

test("readClassification: classes in first-appearance order, missing labels are bad rows", () => {
  const f = write("cls.jsonl", [
    JSON.stringify({ image: "a.png", label: "고양이", split: "seen" }),
    JSON.stringify({ image: "b.png", label: "개" }),
    JSON.stringify({ image: "a.png" }),
    JSON.stringify({ image: "b.png", label: "고양이" }),
    JSON.stringify({ image: "b.png", label: "" }),
  ]);
  const d = readClassification(f);
  assert.deepEqual(d.classes, ["고양이", "개"]);
  assert.deepEqual(d.rows.map((r) => [r.line, r.label]), [[1, "고양이"], [2, "개"], [4, "고양이"]]);
  assert.deepEqual(d.rows[0]!.extra, { split: "seen" });
  assert.deepEqual(d.bad, [{ line: 3, reason: "missing label" }, { line: 5, reason: "empty label" }]);
  assert.throws(() => readClassification(f, { strict: true }), { message: `${f}:3: missing label` });
});

test("readClassification with a classes file: its order, and unknown labels are bad rows", () => {
  const classes = join(dir, "classes.txt");
  writeFileSync(classes, "개\n\n고양이\n새\n");
  const f = write("cls2.jsonl", [
    JSON.stringify({ image: "a.png", label: "고양이" }),
    JSON.stringify({ image: "b.png", label: "말" }),
  ]);
  const d = readClassification(f, { classesFile: classes });
  assert.deepEqual(d.classes, ["개", "고양이", "새"]);
  assert.deepEqual(d.rows.map((r) => r.label), ["고양이"]);
  assert.deepEqual(d.bad, [{ line: 2, reason: `label '말' is not in ${classes}` }]);
  writeFileSync(join(dir, "dup.txt"), "개\n개\n");
  assert.throws(() => readClassification(f, { classesFile: join(dir, "dup.txt") }), /'개' is listed twice/);
});
