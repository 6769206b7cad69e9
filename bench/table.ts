/** The benchmark table: our number, the peer's number from the same run, the ratio, and the goal. */
export interface BenchRow {
  name: string;
  unit: string;
  /** null when the row cannot run on this machine; `note` says why. */
  ours: number | null;
  peer: number | null;
  peerName: string;
  /** true when bigger is better (throughput), false for latencies */
  higherIsBetter: boolean;
  /** Shown instead of our number when `ours` is null, e.g. "skipped (no CUDA)". */
  note?: string;
  /** The target this row is checked against: the ratio, or our own value. */
  goal?: { on: "ratio" | "value"; atLeast?: number; atMost?: number };
}

/** ratio > 1 means we are better, whatever the unit's direction. */
export function ratio(r: BenchRow): number | null {
  if (r.ours === null || r.peer === null || r.peer === 0 || r.ours === 0) return null;
  return r.higherIsBetter ? r.ours / r.peer : r.peer / r.ours;
}

/** "≥ 3.00× met", "≤ 5.00 ms NOT met", or "" without a goal; "?" when the number is missing. */
function goalCell(r: BenchRow, fmt: (v: number, unit: string) => string): string {
  const g = r.goal;
  if (!g) return "";
  const v = g.on === "ratio" ? ratio(r) : r.ours;
  const suffix = g.on === "ratio" ? "×" : ` ${r.unit}`;
  const parts: string[] = [];
  if (g.atLeast !== undefined) parts.push(`≥ ${g.on === "ratio" ? g.atLeast.toFixed(2) : fmt(g.atLeast, r.unit)}${suffix}`);
  if (g.atMost !== undefined) parts.push(`≤ ${g.on === "ratio" ? g.atMost.toFixed(2) : fmt(g.atMost, r.unit)}${suffix}`);
  const met = v === null ? "?" : (g.atLeast === undefined || v >= g.atLeast) && (g.atMost === undefined || v <= g.atMost) ? "met" : "NOT met";
  return `${parts.join(", ")} ${met}`;
}

/** Cosines and recalls need their decimals; throughputs and times do not. */
function formatNumber(v: number, unit: string): string {
  if (unit === "cosine") return v.toFixed(5);
  if (unit === "recall") return v.toFixed(3);
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function formatTable(rows: BenchRow[]): string {
  const lines = [
    "| benchmark | unit | koclip | peer | peer value | ratio (×, >1 = koclip better) | goal |",
    "| --- | --- | ---: | --- | ---: | ---: | --- |",
  ];
  for (const r of rows) {
    const q = ratio(r);
    const ours = r.ours === null ? (r.note ?? "n/a") : formatNumber(r.ours, r.unit);
    lines.push(`| ${r.name} | ${r.unit} | ${ours} | ${r.peerName} | ${r.peer === null ? "n/a" : formatNumber(r.peer, r.unit)} | ${q === null ? "n/a" : q.toFixed(2)} | ${goalCell(r, formatNumber)} |`);
  }
  return lines.join("\n");
}
