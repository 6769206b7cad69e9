/**
 * The slice of the ZIP format that `torch.save` archives need (PKWARE APPNOTE.TXT, sections 4.3-4.5):
 * reading stored or deflated members by positioned reads, and writing stored members aligned to 64
 * bytes with a padding extra field, as PyTorch's `PyTorchStreamWriter` does so storages can be mapped
 * in place. ZIP64 is handled both ways because multi-gigabyte checkpoints need it.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import * as zlib from "node:zlib";
import { readAt, writeAll } from "./file_io.js";

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA_ID = 0x0001;
// PyTorch pads local headers with an extra field whose id spells "FB"; readers skip unknown ids.
const PAD_EXTRA_ID = 0x4246;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

let crcTable: Uint32Array | undefined;

/** CRC-32 (the zip/zlib polynomial). Uses zlib's native one where Node has it (>= 20.15). */
export function crc32(data: Uint8Array, initial = 0): number {
  const native = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  if (native) return native(data, initial);
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~initial >>> 0;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** One member of a zip archive, as its central directory describes it. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate; anything else is refused on read. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`zip field ${v} is too large`);
  return Number(v);
}

/**
 * A zip archive opened for reading members on demand.
 *
 * ```ts
 * using zip = new ZipReader("pytorch_model.bin");
 * zip.names(); // ["archive/data.pkl", "archive/data/0", ..., "archive/version"]
 * ```
 */
export class ZipReader {
  private fd: number | undefined;
  private readonly byName = new Map<string, ZipEntry>();

  constructor(readonly path: string) {
    const fd = openSync(path, "r");
    try {
      this.readCentralDirectory(fd, fstatSync(fd).size);
      this.fd = fd;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  private readCentralDirectory(fd: number, size: number): void {
    // The end record sits in the last 22 bytes plus up to 64 KiB of archive comment.
    const tailLen = Math.min(size, 22 + U16_MAX);
    const tail = readAt(fd, tailLen, size - tailLen, this.path);
    const tv = new DataView(tail.buffer);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tv.getUint32(i, true) === SIG_EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new Error(`${this.path}: not a zip archive (no end-of-central-directory record)`);
    let count = tv.getUint16(eocd + 10, true);
    let cdSize = tv.getUint32(eocd + 12, true);
    let cdOffset = tv.getUint32(eocd + 16, true);
    if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
      const locAt = eocd - 20;
      if (locAt < 0 || tv.getUint32(locAt, true) !== SIG_EOCD64_LOCATOR) {
        throw new Error(`${this.path}: zip end record says ZIP64 but there is no ZIP64 locator`);
      }
      const recAt = u64(tv, locAt + 8);
      const rec = new DataView(readAt(fd, 56, recAt, this.path).buffer);
      if (rec.getUint32(0, true) !== SIG_EOCD64) throw new Error(`${this.path}: bad ZIP64 end record at ${recAt}`);
      count = u64(rec, 32);
      cdSize = u64(rec, 40);
      cdOffset = u64(rec, 48);
    }
    if (cdOffset + cdSize > size) throw new Error(`${this.path}: central directory (${cdOffset}+${cdSize}) lies past the end of the ${size}-byte file (truncated?)`);
    const cd = readAt(fd, cdSize, cdOffset, this.path);
    const v = new DataView(cd.buffer);
    const utf8 = new TextDecoder();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || v.getUint32(p, true) !== SIG_CENTRAL) throw new Error(`${this.path}: corrupt central directory entry ${i}`);
      const flags = v.getUint16(p + 8, true);
      if (flags & 1) throw new Error(`${this.path}: encrypted zip members are not supported`);
      const nameLen = v.getUint16(p + 28, true);
      const extraLen = v.getUint16(p + 30, true);
      const commentLen = v.getUint16(p + 32, true);
      const entry: ZipEntry = {
        name: utf8.decode(cd.subarray(p + 46, p + 46 + nameLen)),
        method: v.getUint16(p + 10, true),
        crc32: v.getUint32(p + 16, true),
        compressedSize: v.getUint32(p + 20, true),
        size: v.getUint32(p + 24, true),
        localHeaderOffset: v.getUint32(p + 42, true),
      };
      this.applyZip64Extra(entry, v, p + 46 + nameLen, extraLen);
      this.byName.set(entry.name, entry);
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** Replaces 0xFFFFFFFF placeholders by the 64-bit values of the ZIP64 extra field, in APPNOTE order. */
  private applyZip64Extra(e: ZipEntry, v: DataView, start: number, len: number): void {
    for (let q = start; q + 4 <= start + len; ) {
      const id = v.getUint16(q, true);
      const size = v.getUint16(q + 2, true);
      if (id === ZIP64_EXTRA_ID) {
        let r = q + 4;
        if (e.size === U32_MAX) (e.size = u64(v, r)), (r += 8);
        if (e.compressedSize === U32_MAX) (e.compressedSize = u64(v, r)), (r += 8);
        if (e.localHeaderOffset === U32_MAX) e.localHeaderOffset = u64(v, r);
      }
      q += 4 + size;
    }
  }

  /** Member names in central-directory order. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Whether the archive has a member called `name`. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Reads, inflates if needed and CRC-checks one member. */
  read(name: string): Uint8Array {
    const e = this.byName.get(name);
    if (!e) throw new Error(`${this.path}: no member '${name}' in the archive`);
    if (this.fd === undefined) throw new Error(`${this.path}: archive is closed`);
    const label = `${this.path}: member '${name}'`;
    const local = new DataView(readAt(this.fd, 30, e.localHeaderOffset, label).buffer);
    if (local.getUint32(0, true) !== SIG_LOCAL) throw new Error(`${label}: bad local header at ${e.localHeaderOffset}`);
    const dataAt = e.localHeaderOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
    const raw = readAt(this.fd, e.compressedSize, dataAt, label);
    let data: Uint8Array;
    if (e.method === 0) {
      data = raw;
    } else if (e.method === 8) {
      try {
        const out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
        data = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      } catch (err) {
        throw new Error(`${label}: deflate data is corrupt (${(err as Error).message})`);
      }
    } else {
      throw new Error(`${label}: compression method ${e.method} is not supported (only stored and deflate)`);
    }
    if (data.byteLength !== e.size) throw new Error(`${label}: expected ${e.size} bytes, got ${data.byteLength}`);
    if (crc32(data) !== e.crc32) throw new Error(`${label}: CRC mismatch (corrupt file?)`);
    return data;
  }

  /** Releases the file descriptor. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Options for `writeZip`. */
export interface ZipWriteOptions {
  /** Align each member's data to this many bytes (PyTorch uses 64). */
  align?: number;
  /** Write ZIP64 records even when sizes fit in 32 bits (for tests; large archives switch on their own). */
  forceZip64?: boolean;
}

/**
 * Writes `entries` as an uncompressed zip to `fd`, from its current position (assumed 0).
 * Members are stored, not deflated: checkpoint floats barely compress, and torch maps them in place.
 */
export function writeZip(fd: number, entries: { name: string; data: Uint8Array }[], opts: ZipWriteOptions = {}): void {
  const align = opts.align ?? 1;
  const enc = new TextEncoder();
  const central: Uint8Array[] = [];
  let pos = 0;
  const emit = (b: Uint8Array) => {
    writeAll(fd, b);
    pos += b.byteLength;
  };
  let anyZip64 = false;
  for (const { name, data } of entries) {
    const nameBytes = enc.encode(name);
    const crc = crc32(data);
    const offset = pos;
    const zip64 = opts.forceZip64 === true || data.byteLength >= U32_MAX || offset >= U32_MAX;
    anyZip64 ||= zip64;

    // Local header: ZIP64 extra (both sizes) if needed, then "FB" padding up to the alignment.
    const z64Local = zip64 ? 20 : 0;
    const before = offset + 30 + nameBytes.byteLength + z64Local;
    let pad = (align - (before % align)) % align;
    if (pad > 0 && pad < 4) pad += align; // an extra field needs at least its 4-byte header
    const local = new Uint8Array(30 + nameBytes.byteLength + z64Local + pad);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, zip64 ? 45 : 20, true);
    lv.setUint16(8, 0, true); // stored
    lv.setUint32(14, crc, true);
    lv.setUint32(18, zip64 ? U32_MAX : data.byteLength, true);
    lv.setUint32(22, zip64 ? U32_MAX : data.byteLength, true);
    lv.setUint16(26, nameBytes.byteLength, true);
    lv.setUint16(28, z64Local + pad, true);
    local.set(nameBytes, 30);
    let q = 30 + nameBytes.byteLength;
    if (zip64) {
      lv.setUint16(q, ZIP64_EXTRA_ID, true);
      lv.setUint16(q + 2, 16, true);
      lv.setBigUint64(q + 4, BigInt(data.byteLength), true);
      lv.setBigUint64(q + 12, BigInt(data.byteLength), true);
      q += 20;
    }
    if (pad) {
      lv.setUint16(q, PAD_EXTRA_ID, true);
      lv.setUint16(q + 2, pad - 4, true);
      local.fill(0x5a, q + 4, q + pad); // 'Z', PyTorch's filler byte
    }
    emit(local);
    emit(data);

    const z64Central = zip64 ? 28 : 0;
    const c = new Uint8Array(46 + nameBytes.byteLength + z64Central);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, zip64 ? 45 : 20, true);
    cv.setUint16(6, zip64 ? 45 : 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, zip64 ? U32_MAX : data.byteLength, true);
    cv.setUint32(24, zip64 ? U32_MAX : data.byteLength, true);
    cv.setUint16(28, nameBytes.byteLength, true);
    cv.setUint16(30, z64Central, true);
    cv.setUint32(42, zip64 ? U32_MAX : offset, true);
    c.set(nameBytes, 46);
    if (zip64) {
      const r = 46 + nameBytes.byteLength;
      cv.setUint16(r, ZIP64_EXTRA_ID, true);
      cv.setUint16(r + 2, 24, true);
      cv.setBigUint64(r + 4, BigInt(data.byteLength), true);
      cv.setBigUint64(r + 12, BigInt(data.byteLength), true);
      cv.setBigUint64(r + 20, BigInt(offset), true);
    }
    central.push(c);
  }

  const cdOffset = pos;
  for (const c of central) emit(c);
  const cdSize = pos - cdOffset;
  const zip64End = anyZip64 || entries.length >= U16_MAX || cdOffset >= U32_MAX || cdSize >= U32_MAX;
  if (zip64End) {
    const eocd64At = pos;
    const rec = new DataView(new ArrayBuffer(56 + 20));
    rec.setUint32(0, SIG_EOCD64, true);
    rec.setBigUint64(4, 44n, true);
    rec.setUint16(12, 45, true);
    rec.setUint16(14, 45, true);
    rec.setBigUint64(24, BigInt(entries.length), true);
    rec.setBigUint64(32, BigInt(entries.length), true);
    rec.setBigUint64(40, BigInt(cdSize), true);
    rec.setBigUint64(48, BigInt(cdOffset), true);
    rec.setUint32(56, SIG_EOCD64_LOCATOR, true);
    rec.setBigUint64(64, BigInt(eocd64At), true);
    rec.setUint32(72, 1, true);
    emit(new Uint8Array(rec.buffer));
  }
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, SIG_EOCD, true);
  end.setUint16(8, zip64End ? U16_MAX : entries.length, true);
  end.setUint16(10, zip64End ? U16_MAX : entries.length, true);
  end.setUint32(12, zip64End ? U32_MAX : cdSize, true);
  end.setUint32(16, zip64End ? U32_MAX : cdOffset, true);
  emit(new Uint8Array(end.buffer));
}
