/**
 * The static search page written by `koclip export site`: everything runs in this browser. A
 * query is tokenised by tokenizers.js, embedded by the ONNX text tower in onnxruntime-web (wasm)
 * and ranked against the collection's precomputed image vectors; clicking an image ranks by its
 * vector. Nothing is sent anywhere: the page only fetches its own files.
 *
 * site.json (written by src/export/site/export.ts) says where everything is:
 *   { images: [{ id, path, thumb, width, height }], embedDim, vectors: { dtype, file, scales? },
 *     text: { model, tokenizer, tokenizerConfig, maxLength, truncationSide, unkTokenId } }
 */
import { Tokenizer } from "./vendor/tokenizers.min.mjs";
import * as ort from "./vendor/ort.wasm.bundle.min.mjs";
import { hitCard } from "./hit_card.js";
import { makeEncoder } from "./tokenize.js";

const SEARCH_K = 24;
const SIMILAR_K = 12;

const $ = (id) => document.getElementById(id);

/** float16 bits → number (IEEE 754 half precision). */
function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

async function fetchOk(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res;
}

/** The image vectors as one Float32Array [N·D], decoded from float16 or int8 × per-row scale. */
async function loadVectors(site) {
  const n = site.images.length, d = site.embedDim;
  const bytes = await (await fetchOk(site.vectors.file)).arrayBuffer();
  const out = new Float32Array(n * d);
  if (site.vectors.dtype === "float16") {
    const half = new Uint16Array(bytes);
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(half[i]);
  } else {
    const q = new Int8Array(bytes);
    const scales = new Float32Array(await (await fetchOk(site.vectors.scales)).arrayBuffer());
    for (let r = 0; r < n; r++) for (let i = r * d; i < (r + 1) * d; i++) out[i] = q[i] * scales[r];
  }
  return out;
}

/** The k rows of `vectors` with the largest dot product with the unit vector `q`, best first. */
function rank(vectors, d, q, k) {
  const n = vectors.length / d;
  const scores = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += vectors[r * d + i] * q[i];
    scores[r] = s;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  return order.slice(0, k).map((r) => ({ row: r, score: scores[r] }));
}

function normalise(v) {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  return Float32Array.from(v, (x) => x * inv);
}

function renderHits(list, site, hits, onPick) {
  list.replaceChildren(...hits.map(({ row, score }, i) => {
    const image = site.images[row];
    return hitCard({ id: image.id, path: image.path, score, thumbnail: image.thumb, eager: i < 12 }, { href: image.thumb, onClick: () => onPick(row) });
  }));
}

async function main() {
  const site = await (await fetchOk("site.json")).json();
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation headers a plain static host does not send
  const [vectors, tokenizerJson, session] = await Promise.all([
    loadVectors(site),
    fetchOk(site.text.tokenizer).then((r) => r.json()),
    ort.InferenceSession.create(site.text.model, { executionProviders: ["wasm"] }),
  ]);
  const encode = makeEncoder(new Tokenizer(tokenizerJson, site.text.tokenizerConfig), site.text);
  const d = site.embedDim;

  const similar = (row) => {
    const q = vectors.subarray(row * d, (row + 1) * d);
    renderHits($("similar"), site, rank(vectors, d, normalise(q), SIMILAR_K), similar);
    $("similar-info").textContent = `“${site.images[row].path}”와 비슷한 이미지`;
  };

  /** Embeds and ranks one query; the timing covers tokenising, the text tower and ranking. */
  async function search(text) {
    const start = performance.now();
    const ids = encode(text);
    const shape = [1, ids.length];
    const out = await session.run({
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), shape),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(ids.length).fill(1n), shape),
    });
    const hits = rank(vectors, d, normalise(out.text_embeds.data), SEARCH_K);
    return { hits, ms: performance.now() - start };
  }

  $("search-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("query").value.trim();
    if (!text) return;
    const { hits, ms } = await search(text);
    renderHits($("results"), site, hits, similar);
    const info = $("search-info");
    info.dataset.ms = String(ms);
    info.textContent = `“${text}” 결과 ${hits.length}개 · ${ms.toFixed(1)} ms (이 브라우저 안에서)`;
  });
  $("status").textContent = `이미지 ${site.images.length}장 · 모델 ${site.model} (${d}차원) · 서버 없이 검색`;
  $("query").disabled = false;
  $("search-button").disabled = false;
  document.body.dataset.ready = "1";
}

main().catch((err) => {
  $("status").textContent = `불러오지 못했습니다: ${err.message}`;
  document.body.dataset.error = err.message;
  throw err;
});
