/**
 * Standalone SVGs from an iconify JSON icon set (https://iconify.design/docs/types/iconify-json.html).
 *
 * An iconify set stores only each icon's inner SVG `body` plus a shared width/height; aliases
 * point at a parent icon, optionally mirrored. We rebuild the `<svg>` wrapper ourselves rather
 * than pull in @iconify/utils for these few lines.
 */

/** The parts of an iconify JSON file we read. */
export interface IconifyJson {
  readonly prefix: string;
  readonly icons: Record<string, IconifyIcon>;
  readonly aliases?: Record<string, IconifyAlias>;
  readonly width?: number;
  readonly height?: number;
  readonly left?: number;
  readonly top?: number;
}

interface IconifyIcon {
  body: string;
  width?: number;
  height?: number;
  left?: number;
  top?: number;
  hFlip?: boolean;
  vFlip?: boolean;
  rotate?: number;
}

interface IconifyAlias extends Partial<IconifyIcon> {
  parent: string;
}

// iconify's documented default canvas when a set gives none.
const DEFAULT_SIZE = 16;

/**
 * The SVG text of one icon (aliases resolved), or undefined if the set has no such name.
 * Rotated icons are returned as undefined: no emoji set uses rotation, so it is not implemented.
 *
 *   iconSvg(set, "cat") // '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">…</svg>'
 */
export function iconSvg(set: IconifyJson, name: string): string | undefined {
  let hFlip = false;
  let vFlip = false;
  let current = name;
  // Alias chains toggle flips at each step; the depth guard stops a cyclic set from hanging us.
  for (let depth = 0; depth < 16; depth++) {
    const icon = set.icons[current];
    if (icon) {
      if (icon.rotate) return undefined;
      return wrapBody(set, icon, hFlip !== Boolean(icon.hFlip), vFlip !== Boolean(icon.vFlip));
    }
    const alias = set.aliases?.[current];
    if (!alias) return undefined;
    if (alias.rotate) return undefined;
    hFlip = hFlip !== Boolean(alias.hFlip);
    vFlip = vFlip !== Boolean(alias.vFlip);
    current = alias.parent;
  }
  return undefined;
}

function wrapBody(set: IconifyJson, icon: IconifyIcon, hFlip: boolean, vFlip: boolean): string {
  const left = icon.left ?? set.left ?? 0;
  const top = icon.top ?? set.top ?? 0;
  const width = icon.width ?? set.width ?? DEFAULT_SIZE;
  const height = icon.height ?? set.height ?? DEFAULT_SIZE;
  let body = icon.body;
  // Mirror about the viewBox centre: x -> (2*left + width) - x, likewise for y.
  if (hFlip) body = `<g transform="translate(${2 * left + width} 0) scale(-1 1)">${body}</g>`;
  if (vFlip) body = `<g transform="translate(0 ${2 * top + height}) scale(1 -1)">${body}</g>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
    `width="${width}" height="${height}" viewBox="${left} ${top} ${width} ${height}">${body}</svg>`
  );
}
