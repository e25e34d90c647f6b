// Files with random content for transfer tests, and their sha256 as read back.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Writes each `path: size` under `root` (random bytes, written in 16 MiB pieces so big files stay cheap). */
export async function writeRandomFiles(root: string, sizes: Record<string, number>): Promise<void> {
  for (const [path, size] of Object.entries(sizes)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    const piece = 16 * 1024 * 1024;
    await writeFile(full, Buffer.alloc(0));
    for (let written = 0; written < size; written += piece) await writeFile(full, randomBytes(Math.min(piece, size - written)), { flag: "a" });
  }
}

export async function sha256OfFile(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}
