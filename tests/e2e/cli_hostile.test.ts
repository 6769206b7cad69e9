// The CLI against hostile input, as a user runs it (bin/koclip): a reader closing the pipe ends a
// command quietly; `koclip index` accounts for every entry it meets (unreadable folders,
// non-UTF-8 names, link loops, dangling links, FIFOs) and keeps what it indexed under a folder
// it can no longer read; `koclip eval` skips undecodable images as bad rows with their line; bad
// --db, --templates and --data paths are one-line errors naming the path.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { crc32 } from "node:zlib";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";

const KOCLIP = join(REPO_ROOT, "bin", "koclip");
const MODEL = fixture("koclip-tiny", "model");
const PNG = fixture("image-processor", "images", "small_100x60.png");
const JPEG = fixture("image-processor", "images", "photo_800x600.jpg");
const tmp = mkdtempSync(join(tmpdir(), "koclip-cli-hostile-"));
chmodSync(tmp, 0o755);
after(() => {
  spawnSync("chmod", ["-R", "u+rwx", tmp]);
  rmSync(tmp, { recursive: true, force: true });
});

const run = (args: string[]) => spawnSync(KOCLIP, args, { encoding: "utf8" }) as { status: number | null; stdout: string; stderr: string };
// Permissions do not stop root (CAP_DAC_OVERRIDE), so as root the commands that meet an unreadable
// folder run without the two capabilities that bypass them (util-linux's setpriv): still root, so
// they read the checkout and the fixtures wherever those lie, but a mode-000 folder is closed.
const WITHOUT_DAC = ["--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"];
const runBoundByPermissions = (args: string[]) =>
  process.getuid?.() === 0
    ? (spawnSync("setpriv", [...WITHOUT_DAC, KOCLIP, ...args], { encoding: "utf8" }) as { status: number | null; stdout: string; stderr: string })
    : run(args);

/** stderr of a failed command is one line: no stack, no "Unhandled". */
function assertOneLine(stderr: string): void {
  assert.equal(stderr.trim().split("\n").length, 1, `one line: ${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at |Unhandled|node:internal/, stderr);
}

test("a closed pipe (koclip embed ... | head -1) ends the command at once, quietly, with status 141", async () => {
  const texts = Array.from({ length: 2000 }, (_, i) => ["--text", `문장 ${i}`]).flat();
  const child = spawn(KOCLIP, ["embed", "--model", MODEL, ...texts], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  // Read the first chunk as head -1 would, then close the read end while output keeps coming.
  await once(child.stdout, "data");
  child.stdout.destroy();
  const [code] = (await once(child, "exit")) as [number];
  assert.equal(code, 141, stderr);
  assert.equal(stderr, "", "nothing on stderr");
});

test("koclip index: every entry is indexed, skipped with a reason or counted as ignored; an unreadable folder keeps its images in the index", () => {
  const photos = join(tmp, "photos");
  mkdirSync(join(photos, "sub"), { recursive: true });
  mkdirSync(join(photos, "locked"));
  copyFileSync(PNG, join(photos, "good.png"));
  copyFileSync(PNG, join(photos, "sub", "ok.png"));
  copyFileSync(JPEG, join(photos, "locked", "kept.jpg"));
  writeFileSync(join(photos, "notes.txt"), "not an image");
  const db = join(tmp, "index-dir", "index.db");
  mkdirSync(join(tmp, "index-dir"));

  const first = runBoundByPermissions(["index", photos, "--db", db, "--model", MODEL, "--json", "--quiet"]);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(JSON.parse(first.stdout).added, 3);

  // Now the hostile entries: a non-UTF-8 name, a link loop, a dangling link, a FIFO, a link to a folder.
  writeFileSync(Buffer.concat([Buffer.from(photos + "/"), Buffer.from([0xff, 0xfe]), Buffer.from(".png")]), readFileSync(PNG));
  symlinkSync("loop.png", join(photos, "loop.png"));
  symlinkSync(join(tmp, "missing.png"), join(photos, "dangling.png"));
  assert.equal(spawnSync("mkfifo", [join(photos, "pipe.png")]).status, 0, "mkfifo");
  symlinkSync(join(photos, "sub"), join(photos, "folder.png"));
  chmodSync(join(photos, "locked"), 0o000);

  const second = runBoundByPermissions(["index", photos, "--db", db, "--model", MODEL, "--json", "--quiet"]);
  chmodSync(join(photos, "locked"), 0o755);
  assert.equal(second.status, 0, second.stderr);
  const report = JSON.parse(second.stdout) as { added: number; removed: number; unchanged: number; ignored: number; skipped: { path: string; reason: string }[] };
  const reasons = Object.fromEntries(report.skipped.map((s) => [s.path.slice(photos.length + 1), s.reason]));
  assert.match(reasons["locked"] ?? "", /folder not read: permission denied/);
  assert.match(reasons["\ufffd\ufffd.png"] ?? "", /name is not valid UTF-8 \(bytes fffe2e706e67\)/);
  assert.match(reasons["loop.png"] ?? "", /symbolic link loop/);
  assert.match(reasons["dangling.png"] ?? "", /dangling symbolic link/);
  assert.match(reasons["pipe.png"] ?? "", /a FIFO, not an image file/);
  assert.match(reasons["folder.png"] ?? "", /links to a folder/);
  assert.equal(report.skipped.length, 6, JSON.stringify(report.skipped));
  assert.equal(report.ignored, 1, "notes.txt");
  assert.equal(report.removed, 0, "locked/kept.jpg stays in the index");
  assert.equal(report.unchanged, 2);
  const listed = run(["search", "사진", "--db", db, "--k", "10", "--json"]);
  assert.equal(listed.status, 0, listed.stderr);
  assert.ok(listed.stdout.includes("kept.jpg"), listed.stdout);
});

/** A PNG whose header claims 60000×60000 pixels (IHDR rewritten, CRC fixed). */
function pixelBomb(): Buffer {
  const b = Buffer.from(readFileSync(PNG));
  b.writeUInt32BE(60000, 16);
  b.writeUInt32BE(60000, 20);
  b.writeUInt32BE(crc32(b.subarray(12, 29)), 29);
  return b;
}

test("koclip eval skips undecodable images as bad rows with their line numbers", () => {
  const dir = join(tmp, "eval");
  mkdirSync(dir);
  copyFileSync(PNG, join(dir, "a.png"));
  copyFileSync(JPEG, join(dir, "b.jpg"));
  writeFileSync(join(dir, "text.png"), "not an image");
  writeFileSync(join(dir, "cut.jpg"), readFileSync(JPEG).subarray(0, 5000));
  writeFileSync(join(dir, "bomb.png"), pixelBomb());
  const rows = [["a.png", "고양이"], ["text.png", "개"], ["b.jpg", "개"], ["cut.jpg", "고양이"], ["bomb.png", "개"]];
  const data = join(dir, "cls.jsonl");
  writeFileSync(data, rows.map(([image, label]) => JSON.stringify({ image, label })).join("\n") + "\n");
  const r = run(["eval", "zeroshot", "--model", MODEL, "--data", data, "--json"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!).n, 2);
  assert.match(r.stderr, new RegExp(`${data}:2: cannot decode image`));
  assert.match(r.stderr, new RegExp(`${data}:4: cannot decode image .*jpeg data is truncated or corrupt`));
  assert.match(r.stderr, new RegExp(`${data}:5: image too large`));
  assert.match(r.stderr, /3 bad rows skipped/);
  const strict = run(["eval", "zeroshot", "--model", MODEL, "--data", data, "--strict"]);
  assert.equal(strict.status, 1);
  // Progress lines come first (stderr is no terminal here); the error is the one last line.
  assertOneLine(strict.stderr.trim().split("\n").filter((l) => !/^images \d/.test(l)).join("\n"));
  assert.match(strict.stderr, new RegExp(`${data}:2: cannot decode image`));
});

test("bad --db, --templates and --data paths are one-line errors naming the path", () => {
  const folderDb = join(tmp, "db-folder");
  mkdirSync(folderDb);
  const noise = join(tmp, "noise.db");
  writeFileSync(noise, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
  const photos = join(tmp, "few");
  mkdirSync(photos);
  copyFileSync(PNG, join(photos, "a.png"));
  for (const [args, path] of [
    [["index", photos, "--db", folderDb, "--model", MODEL, "--quiet"], folderDb],
    [["index", photos, "--db", noise, "--model", MODEL, "--quiet"], noise],
    [["search", "고양이", "--db", noise], noise],
    [["eval", "zeroshot", "--model", MODEL, "--data", join(tmp, "few"), "--templates", "ko"], join(tmp, "few")],
    [["eval", "zeroshot", "--model", MODEL, "--data", join(tmp, "missing.jsonl")], join(tmp, "missing.jsonl")],
    [["eval", "zeroshot", "--model", MODEL, "--data", join(tmp, "eval", "cls.jsonl"), "--templates", join(tmp, "no-templates.txt")], join(tmp, "no-templates.txt")],
  ] as [string[], string][]) {
    const r = run(args);
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assertOneLine(r.stderr);
    assert.ok(r.stderr.includes(path), `${args.join(" ")}: the message names ${path}: ${r.stderr}`);
  }
});
