// Reads a folder a running container writes to without trusting it: the job may
// swap any file or folder in it for a link at any moment, and the daemon is root.
// So nothing is opened by a path that a link could redirect: the folder itself is
// opened without following a last link (its parent, the job's /outputs mount, is
// the daemon's), and everything under it one part at a time from the folder
// above's open handle (`/proc/self/fd/<dir>/<name>`, Linux's openat for Node),
// none followed. A link anywhere is refused, a device is never opened (O_NONBLOCK,
// O_NOCTTY; a job's volume is mounted nodev), and the copy of a file is bounded by
// the size it had when opened.
import { constants, createReadStream, createWriteStream } from "node:fs";
import { open, opendir, type FileHandle } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { sha256OfFile } from "../../p2p/node/fileSha256.ts";

const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export type Refusal = "gone" | "not-a-file" | "not-a-folder";

export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export interface CopiedFile extends FileIdentity {
  sha256: string;
}

/** Opens the folder at `path` (its last part not followed); undefined when it is not there. */
export async function openFolder(path: string): Promise<FileHandle | Refusal> {
  try {
    return await open(path, DIRECTORY);
  } catch (error) {
    return refusalOf(error, "not-a-folder");
  }
}

/** Opens `relative` (`a/b/c`) under the open folder `root`, one part at a time, no link followed. */
async function openBeneath(root: FileHandle, relative: string, flags: number, notWhat: Refusal): Promise<FileHandle | Refusal> {
  const parts = relative.split("/");
  let folder = root;
  try {
    for (const [index, part] of parts.entries()) {
      const last = index === parts.length - 1;
      let next: FileHandle;
      try {
        next = await open(`/proc/self/fd/${folder.fd}/${part}`, last ? flags : DIRECTORY);
      } catch (error) {
        return refusalOf(error, last ? notWhat : "not-a-folder");
      }
      if (folder !== root) await folder.close();
      folder = next;
    }
    const opened = folder;
    folder = root;
    return opened;
  } finally {
    if (folder !== root) await folder.close();
  }
}

function refusalOf(error: unknown, notWhat: Refusal): Refusal {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "gone";
  // ELOOP: a link where none may be; ENOTDIR: a file where a folder was; EACCES: a device on a nodev mount.
  if (code === "ELOOP" || code === "ENOTDIR" || code === "EACCES" || code === "ENXIO") return notWhat;
  throw error;
}

/** Every file and folder under the open folder `root`, as relative paths and kinds, each folder read through its own handle. */
export async function* walkBeneath(root: FileHandle): AsyncGenerator<{ path: string; kind: "file" | "folder" | "other" } | { path: string; kind: "refused"; why: Refusal }> {
  const pending = [""];
  while (pending.length > 0) {
    const folderPath = pending.pop()!;
    const folder = folderPath === "" ? root : await openBeneath(root, folderPath, DIRECTORY, "not-a-folder");
    if (typeof folder === "string") {
      if (folder !== "gone") yield { path: folderPath, kind: "refused", why: folder };
      continue;
    }
    try {
      const listing = await opendir(`/proc/self/fd/${folder.fd}`, { bufferSize: 128 });
      for await (const entry of listing) {
        const path = folderPath ? `${folderPath}/${entry.name}` : entry.name;
        const kind = entry.isDirectory() ? "folder" : entry.isFile() ? "file" : "other";
        if (kind === "folder") pending.push(path);
        yield { path, kind };
      }
    } finally {
      if (folder !== root) await folder.close();
    }
  }
}

/** The identity of the regular file at `relative` under `root`, without reading it. */
export async function identityBeneath(root: FileHandle, relative: string): Promise<FileIdentity | Refusal> {
  const handle = await openBeneath(root, relative, FILE, "not-a-file");
  if (typeof handle === "string") return handle;
  try {
    const stats = await handle.stat();
    return stats.isFile() ? { size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino } : "not-a-file";
  } finally {
    await handle.close();
  }
}

export type CopyOutcome = { ok: true; file: CopiedFile } | { ok: false; why: Refusal | "moving" | "too-big" };

/**
 * Copies the regular file at `relative` under `root` to `target`, and hashes the copy: at most `maxBytes`, and at
 * most the size it had when opened (a job that grows it meanwhile cannot make the copy any longer). "moving" when
 * it changed while it was read: the copy is not kept.
 */
export async function copyBeneath(root: FileHandle, relative: string, target: string, maxBytes: number, signal?: AbortSignal): Promise<CopyOutcome> {
  const handle = await openBeneath(root, relative, FILE, "not-a-file");
  if (typeof handle === "string") return { ok: false, why: handle };
  try {
    const before = await handle.stat();
    if (!before.isFile()) return { ok: false, why: "not-a-file" };
    if (before.size > maxBytes) return { ok: false, why: "too-big" };
    if (before.size > 0) {
      // Through the open file's own /proc entry: that very file, whatever its path leads to now.
      const source = createReadStream(`/proc/self/fd/${handle.fd}`, { start: 0, end: before.size - 1, highWaterMark: 1024 * 1024 });
      const sink = createWriteStream(target, { mode: 0o600 });
      await (signal ? pipeline(source, sink, { signal }) : pipeline(source, sink));
    } else {
      await (await open(target, "w", 0o600)).close();
    }
    const after = await handle.stat();
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ctimeMs !== before.ctimeMs) return { ok: false, why: "moving" };
    return { ok: true, file: { size: after.size, mtimeMs: after.mtimeMs, ctimeMs: after.ctimeMs, ino: after.ino, sha256: await sha256OfFile(target) } };
  } finally {
    await handle.close();
  }
}
