/**
 * The emoji dataset builder (src/data): small builds into temp folders, checked against their
 * own manifest, the split rules, determinism, and known CLDR Korean names.
 * Needs the npm emoji packages; the Noto style is skipped (with a note) without the apt font.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { dataCommand } from "../../src/cli/commands/data.js";
import { UsageError } from "../../src/cli/command.js";
import { composeOnBackground, inkBox } from "../../src/data/compose.js";
import { buildEmojiDataset, type EmojiManifest } from "../../src/data/emoji.js";
import { emojiKey, emojiKeyOfFileName, emojiKeyOfText } from "../../src/data/emoji_key.js";
import { conceptSplit } from "../../src/data/emoji_splits.js";
import { EMOJI_STYLE_NAMES, indexStyle, parseStyles, type EmojiStyleName } from "../../src/data/emoji_styles.js";
import { captions, loadEmojiConcepts } from "../../src/data/emoji_text.js";
import { DEFAULT_NOTO_FONT, NotoFont } from "../../src/data/noto_font.js";

const HAS_NOTO = existsSync(process.env.KOCLIP_NOTO_FONT ?? DEFAULT_NOTO_FONT);
const STYLES: EmojiStyleName[] = EMOJI_STYLE_NAMES.filter((s) => HAS_NOTO || s !== "noto");
const TRAIN_FILES = ["train.jsonl", "train-bilingual.jsonl", "val.jsonl", "heldout.jsonl"];
const SIZE = 48;
const LIMIT = 12;

interface Row {
  image: string;
  foreground?: string;
  texts?: string[];
  label?: string;
  key: string;
  style?: string;
  split?: string;
}

function readJsonl(path: string): Row[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Row);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((p) => statSync(join(dir, p)).isFile())
    .sort();
}

/** Runs the CLI command with stdout/stderr silenced; returns its exit code. */
async function runCli(argv: string[]): Promise<number> {
  const log = console.log;
  const write = process.stderr.write;
  console.log = () => {};
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await dataCommand.run(argv);
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
}

describe("emoji keys", () => {
  it("drop FE0F, leading zeros and case", () => {
    assert.equal(emojiKey("0023-FE0F-20E3"), "23-20e3");
    assert.equal(emojiKeyOfText("❤️"), "2764");
    assert.equal(emojiKeyOfFileName("1f3f3-fe0f-200d-1f308.svg"), "1f3f3-200d-1f308");
    assert.equal(emojiKeyOfFileName("E0C0.svg"), "e0c0");
    assert.equal(emojiKeyOfFileName("thumbs-up-default.svg"), undefined);
  });
});

describe("emoji text", () => {
  const { concepts } = loadEmojiConcepts();
  const byKey = new Map(concepts.map((c) => [c.key, c]));

  it("has CLDR Korean names for known emoji", () => {
    assert.equal(byKey.get(emojiKeyOfText("😀"))?.ko.label, "활짝 웃는 얼굴");
    assert.equal(byKey.get(emojiKeyOfText("🐱"))?.ko.label, "고양이 얼굴");
    assert.ok(byKey.get(emojiKeyOfText("🐱"))?.ko.tags.includes("고양이"));
    assert.equal(byKey.get(emojiKeyOfText("🐱"))?.en.label, "cat face");
    // Joined across the FE0F difference: emojibase keeps FE0F in this hexcode.
    assert.equal(byKey.get("1f3f3-200d-1f308")?.en.label, "rainbow flag");
  });

  it("keeps base emoji only as concepts, with skin tones as variants", () => {
    assert.equal(concepts.length, 1914);
    const thumbs = byKey.get("1f44d");
    assert.equal(thumbs?.variants.length, 5);
    const medium = captions(thumbs!.ko, thumbs!.variants[2].ko);
    assert.deepEqual(medium.slice(0, 2), ["올린 엄지: 갈색 피부", "올린 엄지"]);
    assert.ok(!byKey.has("1f3fb"), "skin tone components are not concepts");
  });

  it("holds out about 20% of concepts by a stable hash", () => {
    const held = concepts.filter((c) => conceptSplit(c.key, 0.2) === "heldout").length;
    assert.ok(held > 0.17 * concepts.length && held < 0.23 * concepts.length, `held out ${held}`);
    assert.equal(conceptSplit("1f431", 0.2), conceptSplit("1f431", 0.2));
  });
});

describe("emoji styles", () => {
  it("maps FE0F-free keys to the real file names", () => {
    const wanted = [
      { key: "23-20e3", emoji: "#️⃣", name: "keycap: #" },
      { key: "1f3f3-200d-1f308", emoji: "🏳️‍🌈", name: "rainbow flag" },
    ];
    const openmoji = indexStyle("openmoji", wanted).sources.get("23-20e3");
    assert.ok(openmoji?.kind === "svg-file" && openmoji.path.endsWith("0023-FE0F-20E3.svg"), JSON.stringify(openmoji));
    const twemoji = indexStyle("twemoji", wanted).sources.get("1f3f3-200d-1f308");
    assert.ok(twemoji?.kind === "svg-file" && twemoji.path.endsWith("1f3f3-fe0f-200d-1f308.svg"), JSON.stringify(twemoji));
  });

  it("finds Fluent icons that iconify stores as mirrored aliases", () => {
    const wanted = [{ key: "1f449", emoji: "👉", name: "backhand index pointing right" }];
    const flat = indexStyle("fluent-flat", wanted).sources.get("1f449");
    assert.ok(flat?.kind === "svg" && flat.svg.includes("scale(-1 1)"));
    const modern = indexStyle("fluent-modern", wanted).sources.get("1f449");
    assert.ok(modern?.kind === "svg-file" && modern.path.endsWith("backhand-index-pointing-right-default.svg"));
  });

  it("parses style lists", () => {
    assert.deepEqual(parseStyles("openmoji, noto"), ["noto", "openmoji"]);
    assert.throws(() => parseStyles("noto,comic"), /unknown emoji style 'comic'/);
  });

  it("says which apt package provides a missing Noto font", async () => {
    await assert.rejects(NotoFont.open("/nonexistent/NotoColorEmoji.ttf"), /apt-get install fonts-noto-color-emoji/);
  });

  it("rejects emoji the Noto font cannot draw", { skip: !HAS_NOTO && "fonts-noto-color-emoji not installed" }, async () => {
    const noto = await NotoFont.open();
    assert.ok(noto.supports("😀"));
    assert.ok(!noto.supports("\u{1FAE9}"), "Unicode 16 face draws as an empty glyph");
    assert.ok(!noto.supports("🇨🇶"), "Sark draws as the unknown-flag placeholder");
    assert.ok(noto.supports("🇰🇷"));
  });
});

describe("area-average compositing", () => {
  it("keeps a solid square solid and the background around it", () => {
    const side = 20;
    const data = new Uint8Array(side * side * 4);
    for (let y = 5; y < 15; y++) for (let x = 5; x < 15; x++) data.set([255, 0, 0, 255], 4 * (y * side + x));
    const img = { data, width: side, height: side };
    assert.deepEqual(inkBox(img), { left: 5, top: 5, width: 10, height: 10 });
    const rgb = composeOnBackground(img, inkBox(img), { size: 8, glyph: 5, left: 1, top: 1, background: [0, 0, 255] });
    assert.deepEqual([...rgb.subarray(0, 3)], [0, 0, 255]);
    const centre = 3 * (3 * 8 + 3);
    assert.deepEqual([...rgb.subarray(centre, centre + 3)], [255, 0, 0]);
  });
});

describe("koclip data emoji", () => {
  const root = mkdtempSync(join(tmpdir(), "koclip-emoji-"));
  const dirA = join(root, "a");
  const dirB = join(root, "b");
  let manifest: EmojiManifest;

  before(async () => {
    const argv = ["emoji", "--limit", String(LIMIT), "--size", String(SIZE), "--seed", "7", "--styles", STYLES.join(",")];
    assert.equal(await runCli([...argv, "--out", dirA]), 0);
    // A different concurrency must not change a byte: every image has its own generator.
    assert.equal(await runCli([...argv, "--out", dirB, "--concurrency", "1"]), 0);
    manifest = JSON.parse(readFileSync(join(dirA, "manifest.json"), "utf8")) as EmojiManifest;
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("writes counts that match the manifest", () => {
    assert.equal(manifest.concepts.total, LIMIT);
    for (const [file, n] of Object.entries(manifest.files)) {
      const lines = readFileSync(join(dirA, file), "utf8").split("\n").filter((l) => l !== "");
      assert.equal(lines.length, n, file);
    }
    const rows = Object.fromEntries(TRAIN_FILES.map((f) => [f, readJsonl(join(dirA, f))]));
    let images = 0;
    for (const style of STYLES) {
      const c = manifest.styles[style]!;
      const ofStyle = (f: string) => rows[f].filter((r) => r.style === style).length;
      if (c.role === "train") {
        assert.equal(ofStyle("train.jsonl"), c.train, `${style} train`);
        assert.equal(ofStyle("val.jsonl"), c.val, `${style} val`);
        assert.equal(ofStyle("heldout.jsonl"), c.heldout, `${style} heldout`);
        assert.equal(c.train + c.val + c.heldout, c.images, `${style} images`);
      } else {
        assert.equal(c.eval, manifest.files["openmoji-cls.jsonl"]);
      }
      assert.equal(readdirSync(join(dirA, "images", style)).length, c.images, `${style} files`);
      images += c.images;
    }
    assert.equal(images, manifest.images);
  });

  it("lists only images that exist and decode at the right size", async () => {
    const files = ["train.jsonl", "val.jsonl", "heldout.jsonl", "openmoji-pairs.jsonl", "openmoji-cls-en.jsonl"];
    const seen = new Set<string>();
    for (const file of files) for (const row of readJsonl(join(dirA, file))) seen.add(row.image);
    assert.ok(seen.size > 0);
    for (const image of seen) {
      const meta = await sharp(join(dirA, image)).metadata();
      assert.equal(meta.format, "png", image);
      assert.equal(meta.width, SIZE, image);
      assert.equal(meta.height, SIZE, image);
      assert.equal(meta.channels, 3, image);
    }
  });

  it("gives every training-style row a transparent foreground of the same emoji, and evaluation rows none", async () => {
    for (const file of TRAIN_FILES) {
      for (const row of readJsonl(join(dirA, file))) {
        assert.equal(row.foreground, row.image.replace(/^images\//, "foregrounds/"), `${file}: ${row.image}`);
      }
    }
    for (const row of readJsonl(join(dirA, "openmoji-pairs.jsonl"))) assert.equal(row.foreground, undefined);
    for (const style of STYLES.filter((s) => manifest.styles[s]!.role === "train")) {
      assert.equal(readdirSync(join(dirA, "foregrounds", style)).length, manifest.styles[style]!.images, `${style} foregrounds`);
    }
    const { data, info } = await sharp(join(dirA, "foregrounds/twemoji/1f600.png")).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [SIZE, SIZE, 4]);
    const alpha = (x: number, y: number) => data[4 * (y * SIZE + x) + 3];
    assert.equal(alpha(0, 0), 0, "corner is transparent");
    assert.equal(alpha(SIZE / 2, SIZE / 2), 255, "the face is opaque");
  });

  it("keeps OpenMoji out of every training file", () => {
    for (const file of TRAIN_FILES) {
      for (const row of readJsonl(join(dirA, file))) {
        assert.notEqual(row.style, "openmoji", file);
        assert.ok(!row.image.startsWith("images/openmoji/"), `${file}: ${row.image}`);
      }
    }
  });

  it("keeps held-out concepts out of train and val", () => {
    const cls = readJsonl(join(dirA, "openmoji-cls.jsonl"));
    assert.equal(cls.length, LIMIT);
    const heldout = new Set(cls.filter((r) => r.split === "heldout").map((r) => r.key));
    assert.ok(heldout.size > 0 && heldout.size < LIMIT, `${heldout.size} held out of ${LIMIT}`);
    for (const file of ["train.jsonl", "train-bilingual.jsonl", "val.jsonl"]) {
      for (const row of readJsonl(join(dirA, file))) assert.ok(!heldout.has(row.key), `${file}: ${row.key}`);
    }
    for (const row of readJsonl(join(dirA, "heldout.jsonl"))) assert.ok(heldout.has(row.key));
  });

  it("writes Korean captions, English in the -en files, both in bilingual", () => {
    const first = readJsonl(join(dirA, "openmoji-cls.jsonl"))[0];
    assert.equal(first.key, "1f600");
    assert.equal(first.label, "활짝 웃는 얼굴");
    assert.equal(readJsonl(join(dirA, "openmoji-cls-en.jsonl"))[0].label, "grinning face");
    const classes = readFileSync(join(dirA, "classes-ko.txt"), "utf8").split("\n");
    assert.equal(classes[0], "활짝 웃는 얼굴");
    const train = readJsonl(join(dirA, "train.jsonl"));
    const bilingual = readJsonl(join(dirA, "train-bilingual.jsonl"));
    assert.equal(bilingual.length, 2 * train.length);
    assert.deepEqual(bilingual[0], train[0], "the Korean row is train.jsonl's");
    assert.equal(bilingual[1]!.image, train[0]!.image);
    assert.ok(bilingual[1]!.texts!.every((t) => !/[가-힣]/.test(t)), "the English row has no Hangul");
    assert.ok(bilingual[1]!.texts!.includes(readJsonl(join(dirA, "openmoji-pairs-en.jsonl")).find((r) => r.key === train[0]!.key)!.texts![0]!));
  });

  it("is byte-identical for the same seed, whatever the concurrency", () => {
    const files = listFiles(dirA);
    assert.deepEqual(listFiles(dirB), files);
    for (const f of files) assert.ok(readFileSync(join(dirA, f)).equals(readFileSync(join(dirB, f))), `differs: ${f}`);
  });

  it("changes images, not splits, with another seed", async () => {
    const dirC = join(root, "c");
    await buildEmojiDataset({ outDir: dirC, limit: LIMIT, size: SIZE, seed: 8, styles: STYLES });
    const a = readFileSync(join(dirA, "images/openmoji/1f600.png"));
    assert.ok(!a.equals(readFileSync(join(dirC, "images/openmoji/1f600.png"))));
    assert.ok(readFileSync(join(dirA, "openmoji-cls.jsonl")).equals(readFileSync(join(dirC, "openmoji-cls.jsonl"))));
  });

  it("renders emoji whose files keep FE0F, with their Korean names", async () => {
    const dirK = join(root, "keys");
    const keys = ["1f431", "23-20e3", "1f3f3-200d-1f308"];
    const m = await buildEmojiDataset({ outDir: dirK, keys, size: SIZE, styles: ["twemoji", "openmoji"] });
    assert.equal(m.styles.openmoji?.images, 3);
    assert.equal(m.styles.twemoji?.images, 3);
    for (const key of keys) {
      assert.ok(existsSync(join(dirK, "images/openmoji", `${key}.png`)), key);
      assert.ok(existsSync(join(dirK, "images/twemoji", `${key}.png`)), key);
    }
    const labels = Object.fromEntries(readJsonl(join(dirK, "openmoji-cls.jsonl")).map((r) => [r.key, r.label]));
    assert.equal(labels["1f431"], "고양이 얼굴");
    assert.equal(labels["23-20e3"], "키 캡: #"); // sic: CLDR spells it with a space
  });

  it("refuses a non-empty folder that is not a dataset", async () => {
    const dirX = join(root, "x");
    await buildEmojiDataset({ outDir: join(dirX, "sub"), limit: 1, styles: ["twemoji"] });
    await assert.rejects(buildEmojiDataset({ outDir: dirX, limit: 1, styles: ["twemoji"] }), /not empty/);
    assert.ok(existsSync(join(dirX, "sub", "manifest.json")));
  });

  it("rejects bad flags with UsageError", async () => {
    await assert.rejects(dataCommand.run(["emoji"]), UsageError);
    await assert.rejects(dataCommand.run(["emoji", "--out", root, "--styles", "comic"]), UsageError);
    await assert.rejects(dataCommand.run(["emoji", "--out", root, "--holdout", "1.5"]), UsageError);
    await assert.rejects(dataCommand.run(["emoji", "--out", root, "--size", "abc"]), UsageError);
    await assert.rejects(dataCommand.run(["emoji", "--out", root, "--bogus"]), UsageError);
    await assert.rejects(dataCommand.run(["fonts", "--out", root]), UsageError);
  });

  it("keeps image paths relative to the JSONL file", () => {
    for (const row of readJsonl(join(dirA, "train.jsonl"))) {
      assert.ok(!row.image.startsWith("/"));
      assert.equal(relative(dirA, join(dirA, row.image)), row.image);
    }
  });
});
