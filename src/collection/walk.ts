/** Finding the images of a collection folder. */
import { readdir, stat } from "node:fs/promises";
import { extname, join, relative, sep } from "node:path";

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
