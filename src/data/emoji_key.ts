/**
 * The join key for one emoji across text data and image sets.
 *
 * Sources spell the same emoji differently: emojibase writes `2764` (and sometimes keeps FE0F,
 * `1F3F3-FE0F-200D-1F308`), OpenMoji files are `0023-FE0F-20E3.svg`, Twemoji files `23-20e3.svg`,
 * iconify's `chars.json` `0030-20e3`. The key drops FE0F (a presentation selector, not part of
 * the identity), leading zeros and case, so all of these meet: `2764`, `1f3f3-200d-1f308`, `23-20e3`.
 */

const VARIATION_SELECTOR_16 = 0xfe0f;

/**
 * Key from hex code points separated by `-`, `_` or spaces (a hexcode or a file stem).
 *
 *   emojiKey("0023-FE0F-20E3") // "23-20e3"
 */
export function emojiKey(hex: string): string {
  const points = hex
    .trim()
    .split(/[-_\s]+/)
    .filter((part) => part.length > 0)
    .map((part) => {
      if (!/^[0-9a-fA-F]+$/.test(part)) throw new Error(`not a hex code point: '${part}' in '${hex}'`);
      return parseInt(part, 16);
    });
  return keyOfCodePoints(points);
}

/**
 * Key of an emoji string.
 *
 *   emojiKeyOfText("❤️") // "2764"
 */
export function emojiKeyOfText(text: string): string {
  return keyOfCodePoints([...text].map((ch) => ch.codePointAt(0)!));
}

/**
 * Key of a file name like `0023-FE0F-20E3.svg`, or undefined when the stem is not code points
 * (OpenMoji's extras and Fluent's named files are skipped this way).
 */
export function emojiKeyOfFileName(fileName: string): string | undefined {
  const stem = fileName.replace(/\.[^.]+$/, "");
  if (!/^[0-9a-fA-F]+([-_][0-9a-fA-F]+)*$/.test(stem)) return undefined;
  return emojiKey(stem);
}

function keyOfCodePoints(points: number[]): string {
  const kept = points.filter((cp) => cp !== VARIATION_SELECTOR_16);
  if (kept.length === 0) throw new Error("empty emoji key");
  return kept.map((cp) => cp.toString(16)).join("-");
}
