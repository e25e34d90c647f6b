// What the folders of files kept after a job (retainedOutputs.ts, retainedInputs.ts)
// share: <root>/<job>/ holds links to the job's files in a subfolder and a record
// written whole or not at all, read back with its schema (a torn or foreign one
// reads as none, and its folder is removed by the caller).
import { copyFile, link, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { z } from "zod";

const RECORD_FILE = "retained.json";

/** Makes `<dir>/<subfolder>` afresh with links to `paths` of `fromDir`; returns that subfolder. */
export async function linkFilesInto(dir: string, subfolder: string, fromDir: string, paths: readonly string[]): Promise<string> {
  const target = join(dir, subfolder);
  await rm(dir, { recursive: true, force: true });
  await mkdir(target, { recursive: true, mode: 0o700 });
  for (const path of paths) {
    const to = join(target, path);
    await mkdir(dirname(to), { recursive: true });
    await linkOrCopy(join(fromDir, path), to);
  }
  return target;
}

/** A hard link, or a copy where a link cannot be made. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    // Another filesystem (the job's size-capped /outputs), or files a container's user owns that
    // fs.protected_hardlinks keeps a non-root daemon from linking: a copy does the same.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EPERM") throw error;
    await copyFile(from, to);
  }
}

/** Writes the folder's record through a temporary file, so a crash leaves the old one or the new one. */
export async function writeKeptRecord(dir: string, record: unknown): Promise<void> {
  await writeFile(join(dir, `${RECORD_FILE}.tmp`), JSON.stringify(record));
  await rename(join(dir, `${RECORD_FILE}.tmp`), join(dir, RECORD_FILE));
}

export async function readKeptRecord<T>(dir: string, schema: z.ZodType<T>): Promise<T | undefined> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(join(dir, RECORD_FILE), "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The folders under `root` (none when it does not exist yet). */
export async function keptFolderNames(root: string): Promise<string[]> {
  try {
    return (await readdir(root, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}
