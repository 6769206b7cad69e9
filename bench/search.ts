/**
 * Neighbour search at collection scale, through the project's ANN layer (src/collection/ann.ts):
 * build time, top-10 latency (p50 over single queries) and recall@10 against exact search.
 *
 * Data: uniform random Gaussian directions are the worst case for any graph index (every point
 * is nearly equidistant from every other in 512-d) and nothing like real embeddings, which are
 * clustered and occupy few dimensions. The vectors here are a Gaussian mixture in a 64-d latent
 * space (1,000 clusters, within-cluster spread 0.6 of the centres' scale) mapped linearly into
 * 512-d, plus 512-d isotropic noise (σ 0.1 per latent unit), L2-normalised. Queries are fresh
 * draws from the same distribution. Ground truth: exact cosine top-10 by one libtorch matmul.
 * The peer column is that exact search, one query at a time, in the same run.
 */
import { HnswIndex } from "../src/collection/ann.js";
import * as T from "../src/torch/index.js";
import type { BenchRow } from "./table.js";
import { log, median, type BenchOptions } from "./timing.js";

const DIM = 512;
const LATENT = 64;
const CLUSTERS = 1000;
const QUERIES = 100;
const K = 10;
/** The goals. */
const LATENCY_GOAL_MS = 5;
const RECALL_GOAL = 0.95;

/** Draws `n` vectors of the mixture (see the file comment), seeded, as [n, 512] float32. */
class ClusteredVectors {
  readonly #map = T.keep(T.randn([LATENT, DIM], { seed: 1 }).div(Math.sqrt(LATENT)));
  readonly #centres = T.keep(T.randn([CLUSTERS, LATENT], { seed: 2 }));

  sample(n: number, seed: number): Float32Array {
    return T.tidy(() => {
      const cluster = T.rand([n], { seed }).mul(CLUSTERS).toDtype("int64");
      const z = this.#centres.indexSelect(0, cluster).add(T.randn([n, LATENT], { seed: seed + 1 }).mul(0.6));
      const x = z.matmul(this.#map).add(T.randn([n, DIM], { seed: seed + 2 }).mul(0.1));
      return x.div(x.norm(2, [-1], true)).toFloat32Array();
    });
  }

  dispose(): void {
    T.disposeAll([this.#map, this.#centres]);
  }
}

export async function benchSearch(opts: BenchOptions & { vectors: number }): Promise<BenchRow[]> {
  const n = opts.vectors;
  log(`search: drawing ${n} vectors`);
  const gen = new ClusteredVectors();
  const matrix = new Float32Array(n * DIM);
  const chunk = 50_000;
  for (let i = 0; i < n; i += chunk) matrix.set(gen.sample(Math.min(chunk, n - i), 100 + i), i * DIM);
  const queries = gen.sample(QUERIES, 7);
  gen.dispose();
  const ids = Array.from({ length: n }, (_, i) => i);

  log(`search: building HNSW over ${n} vectors`);
  const t0 = performance.now();
  const hnsw = HnswIndex.build({ ids, matrix, dim: DIM });
  const buildSeconds = (performance.now() - t0) / 1000;

  log("search: exact top-10 and single-query latencies");
  const all = T.tensor(matrix, { shape: [n, DIM] });
  const truth: number[][] = [];
  const exactMs: number[] = [];
  for (let q = 0; q < QUERIES; q++) {
    const query = queries.subarray(q * DIM, (q + 1) * DIM);
    const start = performance.now();
    const top = T.tidy(() => all.matmul(T.tensor(query, { shape: [DIM, 1] })).squeeze(1).topk(K)[1].toArray());
    exactMs.push(performance.now() - start);
    truth.push(top.map(Number));
  }
  all.dispose();

  const annMs: number[] = [];
  let hits = 0;
  for (let q = 0; q < QUERIES; q++) hnsw.search(queries.subarray(q * DIM, (q + 1) * DIM), K); // warm the graph's pages
  for (let q = 0; q < QUERIES; q++) {
    const query = queries.subarray(q * DIM, (q + 1) * DIM);
    const start = performance.now();
    const found = hnsw.search(query, K);
    annMs.push(performance.now() - start);
    const want = new Set(truth[q]);
    hits += found.filter((h) => want.has(h.id)).length;
  }
  const recall = hits / (QUERIES * K);
  const data = `${n.toLocaleString("en")}×${DIM} clustered (${CLUSTERS} clusters, ${LATENT}-d latent)`;
  return [
    { name: `search top-${K}, HNSW, ${data}: p50 latency`, unit: "ms", ours: median(annMs), peer: median(exactMs), peerName: "exact search (libtorch matmul + topk), same run", higherIsBetter: false, goal: { on: "value", atMost: LATENCY_GOAL_MS } },
    { name: `search recall@${K} vs exact, ${QUERIES} queries`, unit: "recall", ours: recall, peer: null, peerName: "—", higherIsBetter: true, goal: { on: "value", atLeast: RECALL_GOAL } },
    { name: `HNSW build, ${n.toLocaleString("en")} vectors`, unit: "s", ours: buildSeconds, peer: null, peerName: "—", higherIsBetter: false },
  ];
}
