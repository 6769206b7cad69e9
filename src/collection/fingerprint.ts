/**
 * Which model made an index's embeddings: the folder plus a fingerprint of its files, so a
 * retrained model in the same folder counts as a different model.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const SAMPLE = 1 << 20; // bytes hashed from each end of a large file

/**
 * sha256 over every file in the model folder: name, size, and the first and last MiB of its
 * bytes (whole files up to 2 MiB). Hashing whole multi-GB weight files would add seconds to
 * every `koclip index`; a retrained checkpoint differs within its first MiB (header, first
 * tensors) in practice. Returns 16 hex digits.
 *
 *   modelFingerprint("models/koclip-emoji")   // "3f9c0a1e5b7d2c44"
 */
export function modelFingerprint(dir: string): string {
  const h = createHash("sha256");
  const names = readdirSync(dir).filter((n) => statSync(join(dir, n)).isFile()).sort();
  const buf = Buffer.alloc(SAMPLE);
  for (const name of names) {
    const file = join(dir, name);
    const { size } = statSync(file);
    h.update(`${name}\0${size}\0`);
    const fd = openSync(file, "r");
    try {
      const ranges = size <= 2 * SAMPLE ? [[0, size]] : [[0, SAMPLE], [size - SAMPLE, SAMPLE]];
      for (const [pos, len] of ranges) {
        for (let done = 0; done < len!; ) {
          const n = readSync(fd, buf, 0, Math.min(SAMPLE, len! - done), pos! + done);
          if (n === 0) break;
          h.update(buf.subarray(0, n));
          done += n;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  return h.digest("hex").slice(0, 16);
}

/** The model as an index records it: absolute folder and fingerprint. */
export function modelIdentity(dir: string): { model: string; fingerprint: string } {
  return { model: resolve(dir), fingerprint: modelFingerprint(dir) };
}
