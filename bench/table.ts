/** The benchmark table: our number, the peer's number from the same run, and the ratio. */
export interface BenchRow {
  name: string;
  unit: string;
  ours: number;
  peer: number | null;
  peerName: string;
  /** true when bigger is better (throughput), false for latencies */
  higherIsBetter: boolean;
}

/** ratio > 1 means we are better, whatever the unit's direction. */
export function ratio(r: BenchRow): number | null {
  if (r.peer === null || r.peer === 0 || r.ours === 0) return null;
  return r.higherIsBetter ? r.ours / r.peer : r.peer / r.ours;
}

export function formatTable(rows: BenchRow[]): string {
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const lines = ["| benchmark | unit | koclip | peer | peer value | ratio (×, >1 = koclip better) |", "| --- | --- | ---: | --- | ---: | ---: |"];
  for (const r of rows) {
    const q = ratio(r);
    lines.push(`| ${r.name} | ${r.unit} | ${fmt(r.ours)} | ${r.peerName} | ${r.peer === null ? "n/a" : fmt(r.peer)} | ${q === null ? "n/a" : q.toFixed(2)} |`);
  }
  return lines.join("\n");
}
