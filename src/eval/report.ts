/**
 * Plain-text pieces of evaluation reports, shared by `koclip eval` and `koclip compare`.
 *
 *   percent(0.4286)                                  // "42.86%"
 *   markdownTable(["model", "top-1"], [["a", "42.86%"]])
 *   // | model | top-1  |
 *   // | ----- | ------ |
 *   // | a     | 42.86% |
 */

/** A fraction as a percentage with two decimals. */
export function percent(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

/** Display width: Hangul and other wide characters take two columns in a terminal. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|\p{Extended_Pictographic}/u.test(ch) ? 2 : 1;
  return w;
}

function pad(s: string, w: number): string {
  return s + " ".repeat(Math.max(0, w - width(s)));
}

/** A GitHub-flavoured markdown table with columns padded to line up in a monospaced terminal. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(3, width(h), ...rows.map((r) => width(r[c] ?? ""))));
  const line = (cells: readonly string[]) => `| ${widths.map((w, c) => pad(cells[c] ?? "", w)).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}
