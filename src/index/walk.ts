/** Finding the images of a collection folder. */
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, isAbsolute, join, relative, resolve, sep } from "node:path";

/** Extensions tried as images (case-insensitive). AVIF/HEIC decode only if this sharp build has them; if not, they end up skipped with sharp's reason. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".avif", ".heic", ".heif", ".tif", ".tiff"]);

/** One candidate file: path relative to the root ('/' separators), absolute path, size and mtime. */
export interface FoundFile {
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
}

/**
 * Every file under `root` with an image extension, sorted by relative path. Hidden files and
 * folders (leading '.') are left out — that is also where the default index file lives.
 * Symlinked files are followed, symlinked folders are not (no cycles). `ignored` counts the
 * other files.
 *
 *   const { files } = await walkImages("/photos");   // [{ rel: "2024/beach.jpg", ... }]
 */
export async function walkImages(root: string): Promise<{ files: FoundFile[]; ignored: number }> {
  const files: FoundFile[] = [];
  let ignored = 0;
  const visit = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const abs = join(dir, e.name);
      if (e.isDirectory()) {
        await visit(abs);
        continue;
      }
      if (!e.isFile() && !e.isSymbolicLink()) continue;
      if (!IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) {
        ignored++;
        continue;
      }
      const st = await stat(abs).catch(() => null); // a dangling link or a file deleted meanwhile
      if (!st || !st.isFile()) continue;
      files.push({ rel: relative(root, abs).split(sep).join("/"), abs, size: st.size, mtimeMs: st.mtimeMs });
    }
  };
  await visit(root);
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, ignored };
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
