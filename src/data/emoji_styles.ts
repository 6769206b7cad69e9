/**
 * The five emoji art styles and where each one's images come from.
 *
 * Four styles are for training and OpenMoji is kept for testing only, so evaluation measures
 * transfer to an art style the model never saw. Each style is indexed into a map from the
 * FE0F-free key (emoji_key.ts) to the real source of its image, because file names differ:
 * OpenMoji keeps FE0F (`0023-FE0F-20E3.svg`), Twemoji keeps it in some sequences
 * (`1f3f3-fe0f-200d-1f308.svg`), Fluent names files by English slug (`thumbs-up-default.svg`).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { emojiKey, emojiKeyOfFileName } from "./emoji_key.js";
import { iconSvg, type IconifyJson } from "./iconify.js";
import type { NotoFont } from "./noto_font.js";
import { findPackage, readPackageJson, type InstalledPackage } from "./packages.js";

/** Style names, in the order a build lists them. */
export const EMOJI_STYLE_NAMES = ["noto", "twemoji", "fluent-flat", "fluent-modern", "openmoji"] as const;

/** One of the five art styles. */
export type EmojiStyleName = (typeof EMOJI_STYLE_NAMES)[number];

/** What a style is used for, under which licence its images are, and how it pads its art. */
export interface EmojiStyleInfo {
  readonly role: "train" | "test";
  readonly licence: string;
  /** Where the images come from, for people. */
  readonly source: string;
  /**
   * Share of the image box (SVG viewBox, or Noto's 136×128 glyph box) that the longer side of
   * normal-size art fills: the first quartile over every 20th emoji of the set, so that three
   * quarters of the art is at least this big. See emoji_render.ts for how it is used.
   */
  readonly artShare: number;
}

/** Role, licence, origin and art share of each style. */
export const EMOJI_STYLES: Readonly<Record<EmojiStyleName, EmojiStyleInfo>> = {
  noto: { role: "train", licence: "OFL-1.1", source: "Debian fonts-noto-color-emoji (NotoColorEmoji.ttf)", artShare: 0.89 },
  twemoji: { role: "train", licence: "CC-BY-4.0", source: "npm @twemoji/svg", artShare: 0.98 },
  "fluent-flat": { role: "train", licence: "MIT", source: "npm @iconify-json/fluent-emoji-flat", artShare: 0.88 },
  "fluent-modern": {
    role: "train",
    licence: "MIT",
    source: "npm fluentui-emoji (icons/modern: Fluent 'Color')",
    artShare: 0.88,
  },
  openmoji: { role: "test", licence: "CC-BY-SA-4.0", source: "npm openmoji (color/svg)", artShare: 0.72 },
};

/** Where one image comes from: an SVG file, SVG text, or a font glyph. */
export type GlyphSource =
  | { readonly kind: "svg-file"; readonly path: string }
  | { readonly kind: "svg"; readonly svg: string }
  | { readonly kind: "font"; readonly text: string };

/** A style's images for the emoji a build asked about. */
export interface StyleIndex {
  readonly style: EmojiStyleName;
  readonly sources: ReadonlyMap<string, GlyphSource>;
  /** Package (or font) name and version, for the manifest. */
  readonly provenance: Record<string, string>;
}

/** An emoji to look up: its key, its text (for the font) and English CLDR name (for Fluent). */
export interface WantedEmoji {
  readonly key: string;
  readonly emoji: string;
  /** e.g. "backhand index pointing right: medium skin tone". */
  readonly name: string;
}

/**
 * Indexes one style for the wanted emoji; emoji the style lacks are simply absent from the map.
 * `noto` needs an open font (noto_font.ts); other styles read their npm package.
 *
 *   const idx = indexStyle("openmoji", [{ key: "23-20e3", emoji: "#️⃣", name: "keycap: #" }]);
 *   idx.sources.get("23-20e3") // { kind: "svg-file", path: ".../color/svg/0023-FE0F-20E3.svg" }
 */
export function indexStyle(style: EmojiStyleName, wanted: readonly WantedEmoji[], noto?: NotoFont): StyleIndex {
  switch (style) {
    case "noto":
      if (!noto) throw new Error("style noto needs the Noto Color Emoji font to be opened first");
      return indexNoto(noto, wanted);
    case "twemoji":
      return indexSvgDir(style, findPackage("@twemoji/svg", "style twemoji"), ".", wanted);
    case "openmoji":
      return indexSvgDir(style, findPackage("openmoji", "style openmoji"), "color/svg", wanted);
    case "fluent-flat":
      return indexFluentFlat(wanted);
    case "fluent-modern":
      return indexFluentModern(wanted);
  }
}

function indexNoto(noto: NotoFont, wanted: readonly WantedEmoji[]): StyleIndex {
  const sources = new Map<string, GlyphSource>();
  for (const w of wanted) {
    const text = noto.drawable(w.emoji);
    if (text !== undefined) sources.set(w.key, { kind: "font", text });
  }
  const canvas = findPackage("@napi-rs/canvas", "style noto");
  return { style: "noto", sources, provenance: { "fonts-noto-color-emoji": noto.revision, [canvas.name]: canvas.version } };
}

/** Twemoji and OpenMoji: a folder of `<code points>.svg`, keyed after dropping FE0F. */
function indexSvgDir(
  style: EmojiStyleName,
  pkg: InstalledPackage,
  subdir: string,
  wanted: readonly WantedEmoji[],
): StyleIndex {
  const dir = join(pkg.dir, subdir);
  const byKey = new Map<string, string>();
  // Sorted so that if two files ever share a key, the same one wins on every machine.
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".svg")).sort()) {
    const key = emojiKeyOfFileName(name);
    if (key !== undefined && !byKey.has(key)) byKey.set(key, join(dir, name));
  }
  const sources = new Map<string, GlyphSource>();
  for (const w of wanted) {
    const path = byKey.get(w.key);
    if (path !== undefined) sources.set(w.key, { kind: "svg-file", path });
  }
  return { style, sources, provenance: { [pkg.name]: pkg.version } };
}

interface FluentNames {
  readonly pkg: InstalledPackage;
  /** Icon name of a wanted emoji, e.g. 👍 -> "thumbs-up", 👍🏽 -> "thumbs-up-medium". */
  nameOf(w: WantedEmoji): string | undefined;
}

/**
 * Both Fluent styles name icons by slug. iconify's chars.json maps code points to those slugs,
 * but leaves out icons it stores as mirrored aliases (👉 is 👈 flipped), so an emoji missing
 * there falls back to the slug of its English CLDR name, which is how Microsoft names them:
 * "backhand index pointing right: medium skin tone" -> "backhand-index-pointing-right-medium".
 */
function fluentNames(purpose: string): FluentNames {
  const pkg = findPackage("@iconify-json/fluent-emoji-flat", purpose);
  const chars = readPackageJson<Record<string, string>>(pkg, "chars.json");
  const byKey = new Map<string, string>();
  for (const [hex, name] of Object.entries(chars)) byKey.set(emojiKey(hex), name);
  const claimed = new Set(byKey.values());
  return {
    pkg,
    nameOf(w) {
      const known = byKey.get(w.key);
      if (known !== undefined) return known;
      const slug = w.name
        .toLowerCase()
        .replace(/ skin tone/g, "")
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, "");
      // A slug chars.json gives to another emoji is that emoji's icon, not this one's.
      return claimed.has(slug) ? undefined : slug;
    },
  };
}

function indexFluentFlat(wanted: readonly WantedEmoji[]): StyleIndex {
  const names = fluentNames("style fluent-flat");
  const set = readPackageJson<IconifyJson>(names.pkg, "icons.json");
  const sources = new Map<string, GlyphSource>();
  for (const w of wanted) {
    const name = names.nameOf(w);
    const svg = name === undefined ? undefined : iconSvg(set, name);
    if (svg !== undefined) sources.set(w.key, { kind: "svg", svg });
  }
  return { style: "fluent-flat", sources, provenance: { [names.pkg.name]: names.pkg.version } };
}

function indexFluentModern(wanted: readonly WantedEmoji[]): StyleIndex {
  const names = fluentNames("style fluent-modern (its code point -> file name table)");
  const pkg = findPackage("fluentui-emoji", "style fluent-modern");
  // "modern" is Microsoft's gradient "Color" style; "flat" there duplicates the iconify set.
  const dir = join(pkg.dir, "icons", "modern");
  const files = new Set(readdirSync(dir));
  const sources = new Map<string, GlyphSource>();
  for (const w of wanted) {
    const name = names.nameOf(w);
    if (name === undefined) continue;
    // Emoji that take skin tones keep their untoned image as `<slug>-default.svg`.
    const file = [`${name}.svg`, `${name}-default.svg`].find((f) => files.has(f));
    if (file !== undefined) sources.set(w.key, { kind: "svg-file", path: join(dir, file) });
  }
  return {
    style: "fluent-modern",
    sources,
    provenance: { [pkg.name]: pkg.version, [names.pkg.name]: names.pkg.version },
  };
}

/**
 * Parses a comma list like "noto,twemoji" into style names; throws naming the known styles.
 *
 *   parseStyles("noto, openmoji") // ["noto", "openmoji"]
 */
export function parseStyles(list: string): EmojiStyleName[] {
  const out: EmojiStyleName[] = [];
  for (const raw of list.split(",")) {
    const name = raw.trim();
    if (name === "") continue;
    if (!(EMOJI_STYLE_NAMES as readonly string[]).includes(name)) {
      throw new Error(`unknown emoji style '${name}' (known: ${EMOJI_STYLE_NAMES.join(", ")})`);
    }
    if (!out.includes(name as EmojiStyleName)) out.push(name as EmojiStyleName);
  }
  if (out.length === 0) throw new Error("no emoji styles given");
  // Canonical order keeps the output files identical however the list was written.
  return EMOJI_STYLE_NAMES.filter((s) => out.includes(s));
}
