/**
 * Positioned reads and atomic writes shared by the format readers and writers.
 *
 * Checkpoints can be larger than one `readSync` call (capped near 2 GiB) and larger than what we want
 * to hold twice, so readers pull exactly the byte ranges they need, and writers build the file beside
 * the target and rename it in place so a crash never leaves a half-written checkpoint under the real name.
 */
import { closeSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

// readSync/writeSync take an int32 length; stay well below it.
const IO_CHUNK = 1 << 30;

/**
 * Reads exactly `length` bytes at `position` into a fresh buffer (its own ArrayBuffer, offset 0,
 * so typed-array views of it are aligned). Throws, naming `label`, if the file ends early.
 */
export function readAt(fd: number, length: number, position: number, label: string): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, Math.min(IO_CHUNK, length - done), position + done);
    if (n === 0) throw new Error(`${label}: unexpected end of file at byte ${position + done} (wanted ${length} bytes from ${position})`);
    done += n;
  }
  return out;
}

/** Writes all of `bytes` at the current position, looping over short writes. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) {
    done += writeSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.byteLength - done));
  }
}

/**
 * Runs `write(fd)` on a temporary file next to `path`, fsyncs it and renames it over `path`.
 * On any error the temporary file is removed and `path` is left as it was.
 */
export function writeFileAtomic(path: string, write: (fd: number) => void): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  const fd = openSync(tmp, "wx");
  try {
    try {
      write(fd);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}
