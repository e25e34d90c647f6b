// Copies one file out of a running container's folder without trusting the
// container: it may swap any file or folder for a link at any moment. The file
// is opened without following a last link, and the opened file's real path
// (from /proc/self/fd) must be the path asked for, so no link on the way led
// elsewhere; from then on only that open file is read, into a folder the
// container cannot see, and that copy is hashed.
import { constants } from "node:fs";
import { chmod, copyFile, open, readlink, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { sha256OfFile } from "../../p2p/node/fileSha256.ts";

export interface CopiedFile {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

export type CopyOutcome = { ok: true; file: CopiedFile } | { ok: false; why: "gone" | "moving" | "not-a-file" };

/** The identity of a regular file at `full` (no link on the way), without reading it; undefined when it is not one. */
export async function identityOf(full: string): Promise<Omit<CopiedFile, "sha256"> | "gone" | "not-a-file"> {
  const handle = await openHere(full);
  if (typeof handle === "string") return handle;
  try {
    const stats = await handle.stat();
    return stats.isFile() ? { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino } : "not-a-file";
  } finally {
    await handle.close();
  }
}

/** Copies the regular file at `full` to `<stageDir>/<its sha256>`; "moving" when it changed while it was read. */
export async function copyOut(full: string, stageDir: string): Promise<CopyOutcome> {
  const handle = await openHere(full);
  if (typeof handle === "string") return { ok: false, why: handle };
  const partial = join(stageDir, `copy-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    const before = await handle.stat();
    if (!before.isFile()) return { ok: false, why: "not-a-file" };
    // Through the open file's own /proc entry: the kernel copies that very file (copy_file_range), whatever
    // its path now leads to, at a plain copy's speed; the hash then reads the daemon's copy, which no job can touch.
    await copyFile(`/proc/self/fd/${handle.fd}`, partial);
    await chmod(partial, 0o600);
    const sha256 = await sha256OfFile(partial);
    const after = await handle.stat();
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) return { ok: false, why: "moving" };
    await rename(partial, join(stageDir, sha256));
    return { ok: true, file: { size: after.size, mtimeMs: after.mtimeMs, ino: after.ino, sha256 } };
  } finally {
    await handle.close();
    await rm(partial, { force: true });
  }
}

/** Opens `full` for reading if it is reached with no link on the way. */
async function openHere(full: string): Promise<Awaited<ReturnType<typeof open>> | "gone" | "not-a-file"> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "gone";
    // ELOOP: the last part is a link.
    if (code === "ELOOP") return "not-a-file";
    throw error;
  }
  const real = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
  if (real !== full) {
    await handle.close();
    return "not-a-file";
  }
  return handle;
}
