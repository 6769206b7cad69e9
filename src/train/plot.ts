/** Training curves as an SVG (and a PNG rendered from it by sharp): loss over steps. */
import sharp from "sharp";

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

/** A plain line chart with axes and a legend. */
export function lineChartSvg(title: string, series: Series[], width = 720, height = 360): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="20" y="30">${title}: no data</text></svg>`;
  const pad = { l: 60, r: 20, t: 36, b: 40 };
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys) * 1.05 || 1];
  const X = (x: number) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (width - pad.l - pad.r);
  const Y = (y: number) => height - pad.b - ((y - y0) / (y1 - y0 || 1)) * (height - pad.t - pad.b);
  const ticks = Array.from({ length: 5 }, (_, i) => y0 + ((y1 - y0) * i) / 4);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${title}</text>`,
    ...ticks.map((t) => `<line x1="${pad.l}" x2="${width - pad.r}" y1="${Y(t)}" y2="${Y(t)}" stroke="#eee"/><text x="${pad.l - 6}" y="${Y(t) + 4}" text-anchor="end">${t.toFixed(2)}</text>`),
    `<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${height - pad.b}" stroke="#333"/>`,
    `<line x1="${pad.l}" x2="${width - pad.r}" y1="${height - pad.b}" y2="${height - pad.b}" stroke="#333"/>`,
    `<text x="${pad.l}" y="${height - 12}">${x0}</text><text x="${width - pad.r}" y="${height - 12}" text-anchor="end">${x1} steps</text>`,
  ];
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points.map((p, k) => `${k ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("");
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    parts.push(`<rect x="${width - pad.r - 150}" y="${pad.t + 4 + i * 18}" width="12" height="3" fill="${s.color}"/><text x="${width - pad.r - 132}" y="${pad.t + 9 + i * 18}">${s.name}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Renders an SVG to PNG bytes. */
export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
