// @ts-check
/**
 * The koclip page: plain ES module, no build step. It talks only to the HTTP API; the request
 * and response shapes are the ones in src/server/types.ts, imported below for the type checker
 * (`npx tsc -p web` checks this file against them; browsers ignore the JSDoc).
 *
 * @typedef {import("../src/server/types.js").ApiError} ApiError
 * @typedef {import("../src/server/types.js").SearchResponse} SearchResponse
 * @typedef {import("../src/server/types.js").SearchHitView} SearchHitView
 * @typedef {import("../src/server/types.js").ClassifyResponse} ClassifyResponse
 * @typedef {import("../src/server/types.js").PatchResponse} PatchResponse
 * @typedef {import("../src/server/types.js").StatusResponse} StatusResponse
 * @typedef {import("../src/server/types.js").SearchTextRequest} SearchTextRequest
 */

import { hitCard } from "./hit_card.js";

/** @template {HTMLElement} T @param {string} id @returns {T} */
const $ = (id) => /** @type {T} */ (document.getElementById(id));

const SEARCH_K = 24;
const SIMILAR_K = 12;

/** The image the user dropped, kept for re-classifying and heatmaps. @type {File | null} */
let current = null;
/** The last heatmap, redrawn when the preview resizes. @type {PatchResponse | null} */
let heat = null;

/** Korean wording for the server's error codes; the server's own message follows it. */
const ERROR_WORDS = /** @type {Record<string, string>} */ ({
  limit_exceeded: "제한을 넘었습니다",
  no_collection: "색인이 없습니다 (서버를 --db 파일과 함께 시작하세요)",
  bad_image: "읽을 수 없는 이미지입니다",
  invalid_request: "요청이 올바르지 않습니다",
  internal: "서버 오류가 났습니다",
});

/**
 * POSTs JSON or a form, GETs otherwise; resolves to the parsed body or throws with a Korean message.
 * @template T
 * @param {string} url
 * @param {FormData | object} [body]
 * @returns {Promise<T>}
 */
async function api(url, body) {
  /** @type {RequestInit} */
  const init = body === undefined ? {} : body instanceof FormData
    ? { method: "POST", body }
    : { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } };
  const res = await fetch(url, init);
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    const err = /** @type {ApiError | null} */ (json);
    const word = res.status === 503 ? "서버가 바쁩니다. 잠시 후 다시 시도하세요" : ERROR_WORDS[err?.error ?? ""] ?? `요청 실패 (${res.status})`;
    throw new Error(err?.message ? `${word}: ${err.message}` : word);
  }
  return /** @type {T} */ (json);
}

/** @param {unknown} err */
function showError(err) {
  const box = $("error");
  box.textContent = err instanceof Error ? err.message : String(err);
  box.hidden = false;
  clearTimeout(Number(box.dataset.timer));
  box.dataset.timer = String(setTimeout(() => (box.hidden = true), 6000));
}

/**
 * Runs `fn` with the form's buttons disabled; errors go to the error box.
 * @param {HTMLFormElement | null} form
 * @param {() => Promise<void>} fn
 */
async function busy(form, fn) {
  const buttons = form ? [...form.querySelectorAll("button")] : [];
  buttons.forEach((b) => (b.disabled = true));
  try {
    await fn();
  } catch (err) {
    showError(err);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

/** @param {number} x */
const pct = (x) => `${(x * 100).toFixed(1)}%`;

/** @param {HTMLOListElement} list @param {SearchHitView[]} hits */
function renderHits(list, hits) {
  list.replaceChildren(...hits.map((h, i) => hitCard({ id: h.id, path: h.path, score: h.score, thumbnail: h.thumbnailUrl, eager: i < 12 }, { href: h.fullUrl, newTab: true })));
}

async function loadStatus() {
  /** @type {StatusResponse} */
  const s = await api("/api/status");
  const c = s.collection;
  const index = c ? `이미지 ${c.images.toLocaleString("ko-KR")}장 색인됨${c.skipped ? ` (건너뜀 ${c.skipped})` : ""} · ${c.ann === "hnsw" ? "HNSW" : "전수"} 검색` : "색인 없음";
  $("status").textContent = `모델 ${s.model.name} (${s.model.embedDim}차원) · ${index} · 대기열 ${s.queue.depth}/${s.queue.limit}`;
  const labels = /** @type {HTMLTextAreaElement} */ ($("labels-input"));
  if (!labels.value) labels.value = s.defaultLabels.join(", ");
}

/** @param {SubmitEvent} ev */
async function onSearch(ev) {
  ev.preventDefault();
  const form = /** @type {HTMLFormElement} */ (ev.currentTarget);
  const text = /** @type {HTMLInputElement} */ ($("query")).value.trim();
  if (!text) return;
  await busy(form, async () => {
    /** @type {SearchTextRequest} */
    const req = { text, k: SEARCH_K };
    /** @type {SearchResponse} */
    const res = await api("/api/search", req);
    $("search-info").textContent = res.hits.length ? `“${text}” 결과 ${res.hits.length}개 · ${res.tookMs} ms` : `“${text}”: 결과가 없습니다`;
    renderHits(/** @type {HTMLOListElement} */ ($("results")), res.hits);
  });
}

function labelList() {
  const raw = /** @type {HTMLTextAreaElement} */ ($("labels-input")).value;
  return [...new Set(raw.split(/[,\n]/).map((l) => l.trim()).filter((l) => l))];
}

async function classify() {
  if (!current) return;
  const labels = labelList();
  if (labels.length === 0) throw new Error("라벨을 하나 이상 적으세요");
  const form = new FormData();
  form.append("image", current, current.name);
  for (const l of labels) form.append("labels", l);
  /** @type {ClassifyResponse} */
  const res = await api("/api/classify", form);
  const best = res.labels[0]?.probability ?? 1;
  $("labels").replaceChildren(...res.labels.map((l, i) => {
    const li = document.createElement("li");
    li.className = i === 0 ? "bar top" : "bar";
    li.title = `유사도 ${l.score.toFixed(3)}`;
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = l.label;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    fill.style.width = `${Math.max(1, (l.probability / best) * 100)}%`;
    track.append(fill);
    const p = document.createElement("span");
    p.className = "pct";
    p.textContent = pct(l.probability);
    li.append(name, track, p);
    return li;
  }));
}

async function similar() {
  if (!current) return;
  const form = new FormData();
  form.append("image", current, current.name);
  form.append("k", String(SIMILAR_K));
  try {
    /** @type {SearchResponse} */
    const res = await api("/api/search", form);
    $("similar-title").hidden = false;
    renderHits(/** @type {HTMLOListElement} */ ($("similar")), res.hits);
  } catch (err) {
    // A server without an index still classifies; say so once, quietly.
    $("similar-title").hidden = false;
    $("similar-title").textContent = `비슷한 이미지: ${err instanceof Error ? err.message : err}`;
  }
}

/** Draws the heatmap over the preview: each cell tinted by its score, min–max scaled. */
function drawHeat() {
  const canvas = /** @type {HTMLCanvasElement} */ ($("heatmap"));
  const img = /** @type {HTMLImageElement} */ ($("preview"));
  canvas.width = img.clientWidth;
  canvas.height = img.clientHeight;
  const g = canvas.getContext("2d");
  if (!g) return;
  g.clearRect(0, 0, canvas.width, canvas.height);
  if (!heat) return;
  const flat = heat.scores.flat();
  const lo = Math.min(...flat);
  const span = Math.max(...flat) - lo || 1;
  const cw = canvas.width / heat.cols;
  const ch = canvas.height / heat.rows;
  heat.scores.forEach((row, r) => row.forEach((s, c) => {
    const t = (s - lo) / span;
    // cold cells stay almost clear, hot ones go orange-red
    g.fillStyle = `rgba(${Math.round(255 * t)}, ${Math.round(80 + 60 * (1 - t))}, ${Math.round(200 * (1 - t))}, ${0.1 + 0.5 * t})`;
    g.fillRect(c * cw, r * ch, Math.ceil(cw), Math.ceil(ch));
  }));
}

/** @param {SubmitEvent} ev */
async function onPatch(ev) {
  ev.preventDefault();
  if (!current) return;
  const file = current;
  const text = /** @type {HTMLInputElement} */ ($("patch-text")).value.trim();
  if (!text) return;
  await busy(/** @type {HTMLFormElement} */ (ev.currentTarget), async () => {
    const form = new FormData();
    form.append("image", file, file.name);
    form.append("text", text);
    /** @type {PatchResponse} */
    const res = await api("/api/patch", form);
    heat = res;
    $("patch-info").textContent = `“${text}” ${res.rows}×${res.cols} 격자 · ${res.tookMs} ms`;
    drawHeat();
  });
}

/** @param {File} file */
async function useImage(file) {
  if (!file.type.startsWith("image/")) return showError(new Error(`이미지 파일이 아닙니다: ${file.name}`));
  current = file;
  heat = null;
  const img = /** @type {HTMLImageElement} */ ($("preview"));
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  $("preview-name").textContent = file.name;
  $("image-work").hidden = false;
  $("patch-info").textContent = "";
  $("labels").replaceChildren();
  await img.decode().catch(() => {});
  drawHeat();
  await Promise.all([busy(/** @type {HTMLFormElement} */ ($("labels-form")), classify), similar()]);
}

function wireDrop() {
  const drop = $("drop");
  const input = /** @type {HTMLInputElement} */ ($("file"));
  input.addEventListener("change", () => input.files?.[0] && useImage(input.files[0]));
  drop.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && input.click());
  for (const t of ["dragenter", "dragover"]) drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const t of ["dragleave", "drop"]) drop.addEventListener(t, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    const file = e.dataTransfer?.files[0];
    if (file) void useImage(file);
  });
}

$("search-form").addEventListener("submit", (e) => void onSearch(/** @type {SubmitEvent} */ (e)));
$("labels-form").addEventListener("submit", (e) => {
  e.preventDefault();
  void busy(/** @type {HTMLFormElement} */ (e.currentTarget), classify);
});
$("patch-form").addEventListener("submit", (e) => void onPatch(/** @type {SubmitEvent} */ (e)));
$("patch-clear").addEventListener("click", () => { heat = null; $("patch-info").textContent = ""; drawHeat(); });
window.addEventListener("resize", drawHeat);
wireDrop();
loadStatus().catch(showError);
setInterval(() => void loadStatus().catch(() => {}), 15000);
