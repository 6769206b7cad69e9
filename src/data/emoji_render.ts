/**
 * One training image from one emoji: rasterise, jitter, put on a random background, encode PNG.
 *
 * White emoji (ghost, cloud, dove) vanish on white and dark ones on black, so each image gets its
 * own background, a random colour or a random grey. Normal-size art fills 70–90% of the side and
 * is nudged off centre, so a model cannot key on exact pixel positions. All of it comes from the
 * SeededRandom passed in, which makes the PNG bytes a function of (seed, style, emoji) alone.
 *
 * Sizing: the sets pad their art differently (OpenMoji's fills about three quarters of its
 * 72-unit box, Twemoji's all of 36), so scaling whole boxes would make the test style a scale
 * shift too. Scaling each emoji's own ink box to the target would erase meaning instead: ▪️
 * "black small square" would come out as big as ⬛ "black large square". So each style states the
 * share of its box that normal art fills (`artShare`), and an emoji is scaled so that share, or
 * its ink if larger, fills the target: normal art matches across styles and small art stays small.
 */
import { readFile } from "node:fs/promises";
import sharp from "sharp";
import type { GlyphSource } from "./emoji_styles.js";
import { composeOnBackground, composeTransparent, inkBox, type PixelBox, type RgbaImage } from "./compose.js";
import type { NotoFont } from "./noto_font.js";
import { encodePng } from "./png.js";
import type { SeededRandom } from "./seeded.js";

/** Smallest and largest share of the image side that normal-size art covers. */
export const GLYPH_SCALE_RANGE: readonly [number, number] = [0.7, 0.9];
/** Share of backgrounds that are grey rather than coloured. */
export const GREY_BACKGROUND_SHARE = 0.3;

/** Where and on what an emoji is drawn; drawn from the generator before any pixels are made. */
export interface ImageLayout {
  /** Side of the emoji in pixels. */
  readonly glyph: number;
  readonly left: number;
  readonly top: number;
  readonly background: readonly [number, number, number];
}

/**
 * Picks glyph size (a share of the side drawn from `scale`), offset and background for a
 * `size`-pixel image.
 *
 *   pickLayout(64, new SeededRandom("0|noto|1f600")) // { glyph: 54, left: 6, top: 5, background: [222, 98, 22] }
 */
export function pickLayout(size: number, rng: SeededRandom, scale: readonly [number, number] = GLYPH_SCALE_RANGE): ImageLayout {
  const glyph = Math.max(1, Math.round(size * rng.uniform(scale[0], scale[1])));
  const margin = size - glyph;
  // Up to 40% of the free margin either way: visibly off centre, never clipped.
  const offset = () => Math.min(margin, Math.max(0, Math.round(margin / 2 + rng.uniform(-0.4, 0.4) * margin)));
  const left = offset();
  const top = offset();
  let background: [number, number, number];
  if (rng.next() < GREY_BACKGROUND_SHARE) {
    const v = rng.int(0, 255);
    background = [v, v, v];
  } else {
    background = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
  }
  return { glyph, left, top, background };
}

/** What `renderEmojiPng` needs besides the source: the style's art share and, for fonts, the font. */
export interface RenderStyle {
  /** Share of the style's box (SVG viewBox, or font glyph box) that normal-size art fills. */
  readonly artShare: number;
  readonly noto?: NotoFont;
}

// The art box is drawn at this multiple of its final size, so the area-average shrink in
// compose.ts antialiases. More is not visibly sharper at 64 px, and librsvg's cost grows with
// area (Fluent's blur filters dominate the build).
const SUPERSAMPLE = 1.3;

/**
 * Renders one emoji as a `size`×`size` RGB PNG.
 *
 *   const rng = new SeededRandom("0|twemoji|1f600");
 *   const png = await renderEmojiPng({ kind: "svg-file", path }, 64, rng, { artShare: 0.98 });
 */
export async function renderEmojiPng(
  source: GlyphSource,
  size: number,
  rng: SeededRandom,
  style: RenderStyle,
): Promise<Buffer> {
  const layout = pickLayout(size, rng);
  const { drawn, ink, fitSide } = await drawArt(source, layout.glyph, style);
  return encodePng(composeOnBackground(drawn, ink, { size, ...layout }, fitSide), size, size, 3);
}

/**
 * Renders one emoji as a transparent `size`×`size` RGBA PNG in which normal-size art fills the
 * whole side (the same sizing rule as renderEmojiPng). Training draws it on a fresh background,
 * scale and offset at every step (`foregroundKey` in the training config), where a baked PNG
 * would show the model one background per emoji for the whole run.
 */
export async function renderEmojiForegroundPng(source: GlyphSource, size: number, style: RenderStyle): Promise<Buffer> {
  const { drawn, ink, fitSide } = await drawArt(source, size, style);
  return encodePng(composeTransparent(drawn, ink, { size, glyph: size, left: 0, top: 0 }, fitSide), size, size, 4);
}

/** The art drawn large enough to shrink to `glyph` px, its ink box, and the side that maps to `glyph`. */
async function drawArt(source: GlyphSource, glyph: number, style: RenderStyle): Promise<{ drawn: RgbaImage; ink: PixelBox; fitSide: number }> {
  const drawn = await drawBox(source, Math.ceil((SUPERSAMPLE * glyph) / style.artShare), style.noto);
  const ink = inkBox(drawn);
  const fitSide = Math.max(ink.width, ink.height, style.artShare * Math.max(drawn.width, drawn.height));
  return { drawn, ink, fitSide };
}

/** The source's whole box (SVG canvas or font glyph box) as RGBA, longer side at least `side`. */
async function drawBox(source: GlyphSource, side: number, noto?: NotoFont): Promise<RgbaImage> {
  if (source.kind === "font") {
    if (!noto) throw new Error("a font glyph needs the Noto font");
    return noto.render(source.text, side);
  }
  const svg = source.kind === "svg" ? Buffer.from(source.svg) : await readFile(source.path);
  const [w, h] = svgIntrinsicSize(svg.toString("utf8", 0, Math.min(svg.length, 4096)));
  // librsvg rasterises at density/72 times the SVG's own size.
  const { data, info } = await sharp(svg, { density: (72 * side) / Math.max(w, h) })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * Width and height of an SVG from its root `width`/`height` (plain or px numbers) or `viewBox`.
 *
 *   svgIntrinsicSize('<svg viewBox="0 0 72 72">') // [72, 72]
 */
export function svgIntrinsicSize(svg: string): [number, number] {
  const root = /<svg\b[^>]*>/i.exec(svg)?.[0];
  if (!root) throw new Error("not an SVG: no <svg> element");
  const attr = (name: string) => new RegExp(`\\s${name}\\s*=\\s*["']([^"']*)["']`, "i").exec(root)?.[1];
  const w = /^\s*([\d.]+)\s*(px)?\s*$/.exec(attr("width") ?? "")?.[1];
  const h = /^\s*([\d.]+)\s*(px)?\s*$/.exec(attr("height") ?? "")?.[1];
  if (w !== undefined && h !== undefined) return [Number(w), Number(h)];
  const box = attr("viewBox")?.trim().split(/[\s,]+/).map(Number);
  if (box?.length === 4 && box[2] > 0 && box[3] > 0) return [box[2], box[3]];
  throw new Error("SVG has neither numeric width/height nor a viewBox");
}
