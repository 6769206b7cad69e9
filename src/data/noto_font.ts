/**
 * Noto Color Emoji glyphs drawn with @napi-rs/canvas (Skia), from Debian's fonts-noto-color-emoji.
 *
 * The font is a bitmap (CBDT) font whose strikes are 109 px per em, so we draw at that size and
 * shrink with an area average (compose.ts), which looks better than asking Skia for a 50 px
 * bitmap glyph.
 * There is no cheap way to list the font's ligatures from JS, so support is tested per emoji:
 * a supported emoji shapes to one glyph as wide as 😀 with ink in it. Unsupported code points
 * come out as one *empty* glyph and unsupported sequences as several glyphs, so both fail, and
 * unknown flags come out as a placeholder flag, which we recognise by its pixels.
 */
import { existsSync, readFileSync } from "node:fs";
import type { SKRSContext2D } from "@napi-rs/canvas";
import type { RgbaImage } from "./compose.js";

/** Where Debian/Ubuntu's fonts-noto-color-emoji puts the font. */
export const DEFAULT_NOTO_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";

// The font's native strike: glyph bitmaps are 136x128 at this em size.
const NATIVE_EM_PX = 109;
// A unique family name so Skia never matches a system font of the same name.
const FAMILY = "KoclipNotoColorEmoji";

type CanvasModule = typeof import("@napi-rs/canvas");

/** A registered Noto Color Emoji font that can test and draw emoji. */
export class NotoFont {
  /** `fontRevision` from the font's `head` table, e.g. "2.042". */
  readonly revision: string;
  private readonly ctx: SKRSContext2D;
  private readonly singleWidth: number;
  private unknownFlag?: RgbaImage;

  private constructor(
    readonly path: string,
    private readonly canvasModule: CanvasModule,
  ) {
    if (!canvasModule.GlobalFonts.registerFromPath(path, FAMILY)) {
      throw new Error(`could not load the Noto Color Emoji font at ${path}`);
    }
    this.revision = fontRevision(readFileSync(path));
    // 2 em square leaves room for the widest glyph (1.25 em) and the descent.
    this.ctx = canvasModule.createCanvas(2 * NATIVE_EM_PX, 2 * NATIVE_EM_PX).getContext("2d");
    this.ctx.font = `${NATIVE_EM_PX}px ${FAMILY}`;
    this.singleWidth = this.ctx.measureText("\u{1F600}").width;
  }

  /**
   * Opens the font (default: Debian's path, or $KOCLIP_NOTO_FONT). Throws an error naming the
   * apt package when the file is missing, and the npm package when @napi-rs/canvas is.
   *
   *   const noto = await NotoFont.open();
   *   noto.supports("🐱") // true
   */
  static async open(path: string = process.env.KOCLIP_NOTO_FONT ?? DEFAULT_NOTO_FONT): Promise<NotoFont> {
    if (!existsSync(path)) {
      throw new Error(
        `Noto Color Emoji font not found at ${path}; install it with: apt-get install fonts-noto-color-emoji ` +
          `(or point --noto-font / KOCLIP_NOTO_FONT at NotoColorEmoji.ttf)`,
      );
    }
    let canvasModule: CanvasModule;
    try {
      canvasModule = await import("@napi-rs/canvas");
    } catch {
      throw new Error(
        "npm package '@napi-rs/canvas' is not installed (needed for style noto); run: npm install @napi-rs/canvas",
      );
    }
    return new NotoFont(path, canvasModule);
  }

  /** The string to draw for this emoji, or undefined when the font cannot draw it as one glyph. */
  drawable(emoji: string): string | undefined {
    // The fully qualified form usually works; a few sequences shape only without FE0F.
    for (const text of [emoji, emoji.replace(/\uFE0F/g, "")]) {
      const m = this.ctx.measureText(text);
      if (Math.abs(m.width - this.singleWidth) < 0.5 && m.actualBoundingBoxRight > 0 && !this.isUnknownFlag(text)) {
        return text;
      }
    }
    return undefined;
  }

  /** True when `drawable` finds a form of the emoji the font draws. */
  supports(emoji: string): boolean {
    return this.drawable(emoji) !== undefined;
  }

  /**
   * Draws one emoji cropped to its glyph box (136×128 at the native strike; the ink is smaller).
   * If that box's longer side is under `minSide`, draws at a larger size instead (Skia scales the
   * bitmap up), which only happens for images over about 96 px.
   */
  render(text: string, minSide = 0): RgbaImage {
    const native = this.drawAt(this.ctx, text);
    const side = Math.max(native.width, native.height);
    if (side >= minSide) return native;
    const emPx = Math.ceil((NATIVE_EM_PX * minSide) / side);
    const ctx = this.canvasModule.createCanvas(2 * emPx, 2 * emPx).getContext("2d");
    ctx.font = `${emPx}px ${FAMILY}`;
    return this.drawAt(ctx, text);
  }

  /**
   * Noto draws any pair of regional indicators as one glyph, and pairs it has no flag for (🇨🇶
   * Sark, new in Unicode 16) as a white flag with a question mark. We compare against the
   * drawing of "ZZ", which is no region.
   */
  private isUnknownFlag(text: string): boolean {
    if (!/[\u{1F1E6}-\u{1F1FF}]/u.test(text)) return false;
    this.unknownFlag ??= this.drawAt(this.ctx, "\u{1F1FF}\u{1F1FF}");
    const drawn = this.drawAt(this.ctx, text);
    return (
      drawn.width === this.unknownFlag.width &&
      drawn.height === this.unknownFlag.height &&
      Buffer.from(drawn.data).equals(Buffer.from(this.unknownFlag.data))
    );
  }

  private drawAt(ctx: SKRSContext2D, text: string): RgbaImage {
    const m = ctx.measureText(text);
    const width = Math.max(1, Math.ceil(m.actualBoundingBoxLeft + m.actualBoundingBoxRight));
    const height = Math.max(1, Math.ceil(m.actualBoundingBoxAscent + m.actualBoundingBoxDescent));
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.fillText(text, m.actualBoundingBoxLeft, m.actualBoundingBoxAscent);
    const pixels = ctx.getImageData(0, 0, width, height);
    return { data: pixels.data, width, height };
  }
}

/** Reads `head.fontRevision` (16.16 fixed) from a TrueType/OpenType file; "unknown" if absent. */
function fontRevision(font: Buffer): string {
  const numTables = font.readUInt16BE(4);
  for (let i = 0; i < numTables; i++) {
    const record = 12 + 16 * i;
    if (font.toString("latin1", record, record + 4) !== "head") continue;
    const offset = font.readUInt32BE(record + 8);
    return (font.readInt32BE(offset + 4) / 65536).toFixed(3);
  }
  return "unknown";
}
