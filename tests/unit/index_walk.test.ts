// Which files a collection has: the folder walk, and a file list relative to the folder.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { listedImages, walkImages } from "../../src/collection/walk.js";

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), "koclip-walk-"));
  mkdirSync(join(root, "b", "c"), { recursive: true });
  mkdirSync(join(root, ".hidden"));
  for (const f of ["z.jpg", "a.PNG", "b/c/d.webp", "b/notes.txt", ".hidden/x.jpg", "b/.y.jpg"]) writeFileSync(join(root, f), f);
  symlinkSync(join(root, "b"), join(root, "linked")); // a symlinked folder is not followed
});
after(() => rmSync(root, { recursive: true, force: true }));

test("walkImages: image extensions only, hidden entries and folder links left out, sorted", async () => {
  const { files, ignored } = await walkImages(root);
  assert.deepEqual(files.map((f) => f.rel), ["a.PNG", "b/c/d.webp", "z.jpg"]);
  assert.equal(ignored, 2, "notes.txt and the link to a folder (counted with the files it does not try)");
  assert.equal(files[0]!.size, "a.PNG".length);
});

test("listedImages: the listed files, sorted, relative or absolute inside the root; bad lines named", async () => {
  const list = join(root, "list.txt");
  writeFileSync(list, `# keep these\nz.jpg\n\n${join(root, "b", "notes.txt")}\r\nb/c/d.webp\n`);
  const files = await listedImages(root, list);
  assert.deepEqual(files.map((f) => f.rel), ["b/c/d.webp", "b/notes.txt", "z.jpg"]);
  assert.equal(files[2]!.abs, join(root, "z.jpg"));

  const bad = (body: string) => {
    writeFileSync(list, body);
    return listedImages(root, list);
  };
  await assert.rejects(bad("z.jpg\nmissing.jpg\n"), /list\.txt: missing\.jpg: no such file/);
  await assert.rejects(bad("../outside.jpg\n"), /list\.txt: \.\.\/outside\.jpg is not inside/);
  await assert.rejects(bad("z.jpg\n./z.jpg\n"), /list\.txt: \.\/z\.jpg is listed twice/);
  await assert.rejects(bad("b\n"), /list\.txt: b: no such file/);
});
