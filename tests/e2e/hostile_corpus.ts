/**
 * Hostile inputs for the server, generated (seeded) rather than stored: valid, truncated,
 * bit-flipped and header-inflated ("pixel bomb") JPEG/PNG/WebP/GIF/TIFF, SVGs, odd JSON and
 * Unicode, malformed multipart bodies and bad URLs/hosts. Each probe says which statuses are
 * acceptable; a probe that a lenient decoder may still read allows 200 beside its 4xx.
 *
 *   for (const p of await imageProbes()) { const r = await send(url, p); assert.ok(p.expect.includes(r.status)); }
 */
import { crc32 } from "node:zlib";
import sharp from "sharp";
import { mulberry32 } from "../helpers/random.js";

/** One request: method, path, headers, raw body, and the statuses it may get. */
export interface Probe {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  expect: number[];
}

export const BOUNDARY = "----koclip-hostile-boundary";

export type Part = { name: string; value: string } | { name: string; filename: string; data: Buffer; type?: string };

/** A well-formed multipart/form-data body of `parts`. */
export function multipartBody(parts: Part[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    if ("value" in p) {
      chunks.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${p.name}"\r\n\r\n${p.value}\r\n`));
    } else {
      chunks.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\ncontent-type: ${p.type ?? "application/octet-stream"}\r\n\r\n`), p.data, Buffer.from("\r\n"));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

export const MULTIPART = { "content-type": `multipart/form-data; boundary=${BOUNDARY}` };
export const JSON_TYPE = { "content-type": "application/json" };

/** 64×64 seeded noise in each raster format the server takes. */
async function baseImages(): Promise<{ format: string; data: Buffer }[]> {
  const rng = mulberry32(19);
  const raw = Buffer.from(Array.from({ length: 64 * 64 * 3 }, () => Math.floor(rng() * 256)));
  const img = () => sharp(raw, { raw: { width: 64, height: 64, channels: 3 } });
  return [
    { format: "jpeg", data: await img().jpeg().toBuffer() },
    { format: "png", data: await img().png().toBuffer() },
    { format: "webp", data: await img().webp().toBuffer() },
    { format: "gif", data: await img().gif().toBuffer() },
    { format: "tiff", data: await img().tiff().toBuffer() },
  ];
}

/** The header rewritten to claim 60000×60000 pixels, or null for formats where that is not done here. */
function inflateHeader(format: string, data: Buffer): Buffer | null {
  const b = Buffer.from(data);
  if (format === "png") {
    // IHDR starts at byte 8 (length, "IHDR", width, height, ...); its CRC covers type + data.
    b.writeUInt32BE(60000, 16);
    b.writeUInt32BE(60000, 20);
    b.writeUInt32BE(crc32(b.subarray(12, 29)), 29);
    return b;
  }
  if (format === "jpeg") {
    for (let i = 2; i < b.length - 9; i++) {
      if (b[i] === 0xff && b[i + 1]! >= 0xc0 && b[i + 1]! <= 0xc2) {
        b.writeUInt16BE(60000, i + 5);
        b.writeUInt16BE(60000, i + 7);
        return b;
      }
    }
    return null;
  }
  // GIF's logical screen size is not the image's (decoders read the frame's), so no GIF here.
  return null;
}

/** `n` seeded byte flips after the first 32 bytes (headers mostly intact, data corrupt). */
function flipBits(data: Buffer, n: number, seed: number): Buffer {
  const rng = mulberry32(seed);
  const b = Buffer.from(data);
  for (let i = 0; i < n; i++) {
    const at = 32 + Math.floor(rng() * (b.length - 32));
    b[at] = b[at]! ^ (1 << Math.floor(rng() * 8));
  }
  return b;
}

/** Image uploads: name, bytes, and the statuses allowed (200 where a decoder may still read it). */
export async function imageCorpus(maxUploadBytes: number): Promise<{ name: string; data: Buffer; expect: number[] }[]> {
  const out: { name: string; data: Buffer; expect: number[] }[] = [];
  for (const { format, data } of await baseImages()) {
    out.push({ name: `${format} valid`, data, expect: [200] });
    out.push({ name: `${format} truncated to half`, data: data.subarray(0, data.length >> 1), expect: [200, 400] });
    out.push({ name: `${format} truncated to 16 bytes`, data: data.subarray(0, 16), expect: [400] });
    for (const seed of [1, 2, 3]) out.push({ name: `${format} 24 bits flipped (seed ${seed})`, data: flipBits(data, 24, seed), expect: [200, 400] });
    const bomb = inflateHeader(format, data);
    if (bomb) out.push({ name: `${format} header claiming 60000x60000`, data: bomb, expect: [400, 413] });
  }
  out.push({ name: "svg", data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>'), expect: [400] });
  out.push({ name: "svg loading a local file", data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64"><image xlink:href="file:///etc/passwd" width="64" height="64"/></svg>'), expect: [400] });
  out.push({ name: "svg entity expansion", data: Buffer.from('<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><text>&c;</text></svg>'), expect: [400] });
  out.push({ name: "empty file", data: Buffer.alloc(0), expect: [400] });
  out.push({ name: "text file", data: Buffer.from("hello, not an image"), expect: [400] });
  const over = Buffer.alloc(maxUploadBytes + 1024, 7);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(over);
  out.push({ name: "over maxUploadBytes", data: over, expect: [413] });
  return out;
}

/** Each image of the corpus sent to every route that takes an image. */
export async function imageProbes(maxUploadBytes: number): Promise<Probe[]> {
  const probes: Probe[] = [];
  for (const img of await imageCorpus(maxUploadBytes)) {
    const file = { filename: "upload.bin", data: img.data };
    const routes: [string, Part[]][] = [
      ["/api/search", [{ name: "image", ...file }]],
      ["/api/classify", [{ name: "image", ...file }, { name: "labels", value: "고양이" }, { name: "labels", value: "강아지" }]],
      ["/api/patch", [{ name: "image", ...file }, { name: "text", value: "고양이" }, { name: "grid", value: "2" }]],
      ["/api/embed", [{ name: "images", ...file }]],
    ];
    for (const [path, parts] of routes) probes.push({ name: `${img.name} → ${path}`, method: "POST", path, headers: MULTIPART, body: multipartBody(parts), expect: img.expect });
  }
  return probes;
}

/** Malformed or hostile multipart bodies. */
export function multipartProbes(): Probe[] {
  const png = Buffer.from("89504e470d0a1a0a", "hex");
  const good = multipartBody([{ name: "image", filename: "a.png", data: png }, { name: "labels", value: "고양이" }]);
  const p = (name: string, headers: Record<string, string>, body: Buffer, expect = [400]): Probe => ({ name, method: "POST", path: "/api/classify", headers, body, expect });
  return [
    p("multipart without a boundary", { "content-type": "multipart/form-data" }, good),
    p("boundary that never occurs", { "content-type": "multipart/form-data; boundary=nope" }, good),
    p("garbage body", MULTIPART, Buffer.from("\x00\x01garbage\r\n\r\n--x--")),
    p("no closing boundary", MULTIPART, good.subarray(0, good.length - BOUNDARY.length - 6)),
    p("part without content-disposition", MULTIPART, Buffer.from(`--${BOUNDARY}\r\ncontent-type: text/plain\r\n\r\nhi\r\n--${BOUNDARY}--\r\n`)),
    p("part header without a blank line", MULTIPART, Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="labels"\r\nhi\r\n--${BOUNDARY}--\r\n`)),
    p("empty multipart body", MULTIPART, Buffer.alloc(0)),
    p("file in a field the route does not take", MULTIPART, multipartBody([{ name: "photo", filename: "a.png", data: png }])),
    p("two files where one is taken", MULTIPART, multipartBody([{ name: "image", filename: "a.png", data: png }, { name: "image", filename: "b.png", data: png }, { name: "labels", value: "x" }])),
    p("text where a file belongs", MULTIPART, multipartBody([{ name: "image", value: "cat.png" }, { name: "labels", value: "고양이" }])),
    p("field named __proto__", MULTIPART, multipartBody([{ name: "__proto__", value: "x" }])),
    p("field named constructor", MULTIPART, multipartBody([{ name: "constructor", value: "x" }])),
    p("400 fields", MULTIPART, multipartBody(Array.from({ length: 400 }, (_, i) => ({ name: `f${i}`, value: "x" }))), [400, 413]),
    p("grid as text", MULTIPART, multipartBody([{ name: "image", filename: "a.png", data: png }, { name: "text", value: "x" }, { name: "grid", value: "four" }])),
    p("label part typed application/json, not JSON", MULTIPART, Buffer.from(multipartBody([{ name: "image", filename: "a.png", data: png }, { name: "labels", value: "{" }]).toString("latin1").replace('name="labels"', 'name="labels"\r\ncontent-type: application/json'), "latin1")),
    p("header line of 64 KB", MULTIPART, Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="${"x".repeat(65536)}"\r\n\r\nhi\r\n--${BOUNDARY}--\r\n`)),
  ];
}

/** Odd JSON and Unicode for the JSON routes; strings of the body are sent as UTF-8 unless a Buffer. */
export function jsonProbes(): Probe[] {
  const search = (name: string, body: string | Buffer, expect: number[], headers: Record<string, string> = JSON_TYPE): Probe => ({
    name,
    method: "POST",
    path: "/api/search",
    headers,
    body: Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8"),
    expect,
  });
  return [
    search('{"text": 5}', '{"text": 5}', [400]),
    search('{"text": true}', '{"text": true}', [400]),
    search('{"text": null}', '{"text": null}', [400]),
    search('{"text": ["a"]}', '{"text": ["a"]}', [400]),
    search('{"text": {}}', '{"text": {}}', [400]),
    search('k true', '{"text": "고양이", "k": true}', [400]),
    search("k [3]", '{"text": "고양이", "k": [3]}', [400]),
    search('k "3"', '{"text": "고양이", "k": "3"}', [400]),
    search("k 1.5", '{"text": "고양이", "k": 1.5}', [400]),
    search("k -1", '{"text": "고양이", "k": -1}', [400]),
    search("k 1e308", '{"text": "고양이", "k": 1e308}', [400]),
    search("__proto__ key", '{"text": "고양이", "__proto__": {"k": 1}}', [400]),
    search("constructor.prototype key", '{"text": "고양이", "constructor": {"prototype": {"k": 1}}}', [400]),
    search("duplicate keys", '{"text": 5, "text": "고양이"}', [200]),
    search("JSON as text/plain", '{"text": "고양이"}', [415], { "content-type": "text/plain" }),
    search("no content-type", '{"text": "고양이"}', [415], {}),
    search("content-type application/x-www-form-urlencoded", "text=고양이", [415], { "content-type": "application/x-www-form-urlencoded" }),
    search("array body", '["고양이"]', [400]),
    search("string body", '"고양이"', [400]),
    search("number body", "5", [400]),
    search("null body", "null", [400]),
    search("empty body", "", [400]),
    search("truncated JSON", '{"text": "고양', [400]),
    search("100000-deep array", "[".repeat(100000) + "]".repeat(100000), [400]),
    search("body over maxJsonBytes", JSON.stringify({ text: "가".repeat(300_000) }), [413]),
    search("BOM before the JSON", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"text": "고양이"}')]), [200, 400]),
    search("invalid UTF-8 in the text", Buffer.concat([Buffer.from('{"text": "'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), [200, 400]),
    search("lone surrogate", '{"text": "\\ud800고양이\\udfff"}', [200, 400]),
    search("NUL characters", '{"text": "고\\u0000양\\u0000이"}', [200, 400]),
    search("only whitespace", '{"text": " \\t\\n "}', [200, 400]),
    search("right-to-left override", '{"text": "\\u202e이양고"}', [200]),
    search("zero-width joiners", `{"text": "${"\\u200d".repeat(150)}"}`, [200, 400]),
    search("200 combining marks", `{"text": "가${"\\u0301".repeat(199)}"}`, [200]),
    search("100 emoji (200 UTF-16 units)", JSON.stringify({ text: "😀".repeat(100) }), [200]),
    search("201 emoji", JSON.stringify({ text: "😀".repeat(201) }), [400]),
    search("text of 200 Hangul syllables", JSON.stringify({ text: "가".repeat(200) }), [200]),
    search("text of 201 Hangul syllables", JSON.stringify({ text: "가".repeat(201) }), [400]),
    { name: "embed 33 texts", method: "POST", path: "/api/embed", headers: JSON_TYPE, body: Buffer.from(JSON.stringify({ texts: Array(33).fill("x") })), expect: [400] },
    { name: "embed texts of numbers", method: "POST", path: "/api/embed", headers: JSON_TYPE, body: Buffer.from('{"texts": [1, 2]}'), expect: [400] },
    { name: "embed texts as a string", method: "POST", path: "/api/embed", headers: JSON_TYPE, body: Buffer.from('{"texts": "고양이"}'), expect: [400] },
    { name: "classify as JSON", method: "POST", path: "/api/classify", headers: JSON_TYPE, body: Buffer.from('{"labels": ["고양이"], "image": "aGVsbG8="}'), expect: [400] },
  ];
}

/** Malformed URLs, unknown routes, methods and ids. */
export function urlProbes(): Probe[] {
  const get = (path: string, expect: number[], method = "GET"): Probe => ({ name: `${method} ${path.slice(0, 60)}`, method, path, headers: {}, expect });
  return [
    get("/api/images/%E0%A4%A", [400]),
    get("/%", [400]),
    get("/api/%zz", [400]),
    get("/api/images/99999999999999999999", [400, 404]),
    get("/api/images/-1", [400]),
    get("/api/images/1.5", [400]),
    get("/api/images/0x10", [400]),
    get("/api/images/1?full=2", [400]),
    get("/api/images/1?full=1&full=1", [400]),
    get("/api/images/..%2F..%2Fetc%2Fpasswd?full=1", [400, 404]),
    get("/../../etc/passwd", [403, 404]),
    get("/..%2F..%2Fpackage.json", [403, 404]),
    get("/api/status/" + "a".repeat(4000), [404]),
    get(`/api/search?${"q=1&".repeat(2000)}`, [404]),
    get("/api/search", [404], "PUT"),
    get("/api/status", [404], "DELETE"),
    get("/api/status", [404], "PATCH"),
  ];
}

/** Host and Origin: names other than loopback are refused, as are writes from other origins. */
export function hostProbes(port: number): Probe[] {
  const json = Buffer.from('{"text": "고양이"}');
  const post = (name: string, headers: Record<string, string>, expect: number[]): Probe => ({ name, method: "POST", path: "/api/search", headers: { ...JSON_TYPE, ...headers }, body: json, expect });
  const get = (name: string, headers: Record<string, string>, expect: number[], path = "/api/status"): Probe => ({ name, method: "GET", path, headers, expect });
  return [
    get("Host: evil.example (DNS rebinding)", { host: "evil.example" }, [403]),
    get("Host: evil.example:port", { host: `evil.example:${port}` }, [403]),
    get("Host: 127.0.0.1.evil.example", { host: "127.0.0.1.evil.example" }, [403]),
    get("Host: localhost.evil.example", { host: "localhost.evil.example" }, [403]),
    get("Host: evil.example on the page", { host: "evil.example" }, [403], "/"),
    get("Host: evil.example on an image", { host: "evil.example" }, [403], "/api/images/1?full=1"),
    get("Host: malformed", { host: "a b c" }, [400]),
    get("Host: localhost", { host: `localhost:${port}` }, [200]),
    get("Host: [::1]", { host: `[::1]:${port}` }, [200]),
    get("Host: 127.0.0.2", { host: "127.0.0.2" }, [200]),
    post("cross-origin POST", { origin: "http://evil.example" }, [403]),
    post("POST with Origin null", { origin: "null" }, [403]),
    post("POST with Sec-Fetch-Site cross-site", { "sec-fetch-site": "cross-site" }, [403]),
    post("cross-origin multipart POST", { origin: "http://evil.example", ...MULTIPART }, [403]),
    post("same-origin POST", { origin: `http://127.0.0.1:${port}` }, [200]),
  ];
}
