/** Finding the images of a collection folder. */
import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, isAbsolute, join, relative, resolve, sep } from "node:path";

/** Extensions tried as images (case-insensitive); decodeImage reads them all (HEIC through libheif-js). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".avif", ".heic", ".heif", ".tif", ".tiff"]);

/** One candidate file: path relative to the root ('/' separators), absolute path, size and mtime. */
export interface FoundFile {
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
}

/** An entry the walk could not take: its absolute path (as printable text) and why. */
export interface WalkSkip {
  path: string;
  reason: string;
}

export interface WalkResult {
  files: FoundFile[];
  /** Entries with an image extension (or folders) that cannot be indexed, with the reason. */
  skipped: WalkSkip[];
  /** Folders that could not be read, relative to the root: what the index holds under them is kept. */
  unreadableDirs: string[];
  /** Other entries: files without an image extension, symlinked folders, FIFOs and the like. */
  ignored: number;
}

/** Why a stat or readdir failed, in words. */
function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ELOOP":
      return "symbolic link loop";
    case "ENOENT":
      return "dangling symbolic link (or removed during the walk)";
    default:
      return e.code ? `${e.code}: ${e.message}` : String(err);
  }
}

/** What kind of entry `e` is, for a skip reason. */
function entryKind(e: Dirent | { isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean; isDirectory(): boolean }): string {
  if (e.isFIFO()) return "a FIFO";
  if (e.isSocket()) return "a socket";
  if (e.isBlockDevice() || e.isCharacterDevice()) return "a device";
  if (e.isDirectory()) return "a folder";
  return "not a regular file";
}

/**
 * Every file under `root` with an image extension, sorted by relative path. Hidden files and
 * folders (leading '.') are left out — that is also where the default index file lives.
 * Symlinked files are followed, symlinked folders are not (no cycles). Every other entry the walk
 * meets is accounted for: an unreadable folder, a name that is not UTF-8 (node's paths are
 * strings), a dangling or looping link, or a FIFO/socket/device with an image extension is in
 * `skipped` with the reason; anything else is counted in `ignored`.
 *
 *   const { files, skipped } = await walkImages("/photos");   // [{ rel: "2024/beach.jpg", ... }]
 */
export async function walkImages(root: string): Promise<WalkResult> {
  const result: WalkResult = { files: [], skipped: [], unreadableDirs: [], ignored: 0 };
  const rel = (abs: string) => relative(root, abs).split(sep).join("/");
  const visit = async (dir: string): Promise<void> => {
    let entries: Dirent<Buffer>[];
    try {
      entries = await readdir(dir, { withFileTypes: true, encoding: "buffer" });
    } catch (err) {
      if (dir === root) throw err;
      result.skipped.push({ path: dir, reason: `folder not read: ${describeFsError(err)}` });
      result.unreadableDirs.push(rel(dir));
      return;
    }
    for (const e of entries) {
      const name = e.name.toString("utf8");
      if (name.startsWith(".")) continue;
      const abs = join(dir, name);
      if (!Buffer.from(name, "utf8").equals(e.name)) {
        // The decoded name differs from the bytes on disk, so no path string reaches this file.
        if (e.isDirectory() || IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) {
          result.skipped.push({ path: abs, reason: `name is not valid UTF-8 (bytes ${e.name.toString("hex")}); rename it to index it` });
        } else result.ignored++;
        continue;
      }
      if (e.isDirectory()) {
        await visit(abs);
        continue;
      }
      if (!IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) {
        result.ignored++;
        continue;
      }
      if (!e.isFile() && !e.isSymbolicLink()) {
        result.skipped.push({ path: abs, reason: `${entryKind(e)}, not an image file` });
        continue;
      }
      let st;
      try {
        st = await stat(abs);
      } catch (err) {
        result.skipped.push({ path: abs, reason: describeFsError(err) });
        continue;
      }
      if (!st.isFile()) {
        result.skipped.push({ path: abs, reason: `links to ${entryKind(st)}, not an image file` });
        continue;
      }
      result.files.push({ rel: rel(abs), abs, size: st.size, mtimeMs: st.mtimeMs });
    }
  };
  await visit(root);
  result.files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return result;
}

/**
 * The files a list names, as walkImages reports files, sorted by relative path: one path per
 * line, relative to `root` or absolute inside it; blank lines and lines starting with '#' are
 * skipped. Extensions are not checked (a file that does not decode is skipped later, with the
 * reason). A listed file that is missing, outside `root` or listed twice is an error naming it.
 *
 *   await listedImages("/photos", "/photos/keep.txt")   // [{ rel: "2024/beach.jpg", ... }]
 */
export async function listedImages(root: string, listFile: string): Promise<FoundFile[]> {
  const lines = (await readFile(listFile, "utf8")).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const seen = new Set<string>();
  const files: FoundFile[] = [];
  for (const line of lines) {
    const abs = resolve(root, line);
    const rel = relative(root, abs);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) throw new Error(`${listFile}: ${line} is not inside ${root}`);
    const st = await stat(abs).catch(() => null);
    if (!st || !st.isFile()) throw new Error(`${listFile}: ${line}: no such file`);
    const posix = rel.split(sep).join("/");
    if (seen.has(posix)) throw new Error(`${listFile}: ${line} is listed twice`);
    seen.add(posix);
    files.push({ rel: posix, abs, size: st.size, mtimeMs: st.mtimeMs });
  }
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return files;
}
