/**
 * A minimal PNG encoder for 8-bit RGB and RGBA images (the dataset's output formats).
 *
 * sharp takes about 1 ms per 64 px PNG, almost all of it fixed per-call cost (a trip through
 * libvips and the thread pool); zlib on the main thread takes about 0.1 ms, which makes the whole
 * build about a fifth faster. Rows use PNG filter 0 (none): our images are mostly flat colour,
 * which deflate handles well without filtering.
 */
import { deflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Encodes `width`×`height` RGB (3 channels) or RGBA (4) bytes, row-major without padding, as a PNG file.
 *
 *   encodePng(Buffer.alloc(64 * 64 * 3), 64, 64, 3).subarray(1, 4).toString() // "PNG"
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 3 | 4): Buffer {
  const expected = width * height * channels;
  if (pixels.length !== expected) throw new Error(`expected ${expected} ${channels === 3 ? "RGB" : "RGBA"} bytes, got ${pixels.length}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = channels === 3 ? 2 : 6; // colour type: truecolour, or truecolour with alpha
  // bytes 10-12: compression 0 (deflate), filter method 0, no interlace
  const stride = width * channels;
  const rows = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    rows[y * (stride + 1)] = 0; // filter type: none
    rows.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows, { level: 6 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

// CRC-32 (IEEE, reflected 0xEDB88320) as PNG specifies; zlib.crc32 only exists from Node 20.15.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
