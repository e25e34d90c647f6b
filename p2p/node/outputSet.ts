// A run's outputs on disk as an OutputSet (protocol/outputComparison.ts), for
// `pond verify` and a mediator's judgement: a folder walked for its regular
// files, or the files a manifest lists. Links are never followed: the walk
// refuses one, and a read refuses any path that leads outside the folder, so a
// job's outputs cannot make the comparison read the machine's other files.
import { constants, type Dir } from "node:fs";
import { lstat, open, opendir, realpath } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join, sep } from "node:path";
import { forEachInPool } from "../core/pool.ts";
import type { OutputFileRef, OutputSet } from "../../protocol/outputComparison.ts";
import { sha256OfFile } from "./fileSha256.ts";
import { pathInside } from "./storagePath.ts";

/** A folder that cannot be compared as it is (a link in it, a file that changed while it was compared): the message says which path. */
export class OutputFolderError extends Error {
  override name = "OutputFolderError";
}

/** Files hashed at once while a folder is listed. */
const FILES_AT_ONCE = 4;

/**
 * The outputs in `dir`: with `manifestFiles`, those files as listed (their
 * bytes are checked against the listing when read); without, every regular
 * file under `dir`, hashed now.
 */
export async function outputSetOf(dir: string, manifestFiles?: readonly OutputFileRef[]): Promise<OutputSet> {
  const files = manifestFiles ? [...manifestFiles] : await listFolder(dir);
  const listed = new Map(files.map((file) => [file.path, file]));
  return {
    files,
    async read(path) {
      const file = listed.get(path);
      if (!file) throw new OutputFolderError(`${JSON.stringify(path)} is not one of the outputs listed for ${dir}`);
      return readListed(dir, file);
    },
  };
}

async function listFolder(dir: string): Promise<OutputFileRef[]> {
  const paths: string[] = [];
  // A stack, not recursion: folders may nest as deep as a job likes.
  const pending = [""];
  while (pending.length > 0) {
    const folderPath = pending.pop()!;
    const folder: Dir = await opendir(folderPath ? join(dir, folderPath) : dir);
    for await (const entry of folder) {
      const path = folderPath ? `${folderPath}/${entry.name}` : entry.name;
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) paths.push(path);
      else if (entry.isSymbolicLink()) throw new OutputFolderError(`${JSON.stringify(path)} in ${dir} is a symbolic link: only regular files are compared, and links are not followed`);
      else throw new OutputFolderError(`${JSON.stringify(path)} in ${dir} is not a regular file`);
    }
  }
  const files: OutputFileRef[] = [];
  await forEachInPool(paths, FILES_AT_ONCE, async (path) => {
    const full = join(dir, path);
    files.push({ path, size: (await lstat(full)).size, sha256: await sha256OfFile(full) });
  });
  return files;
}

async function readListed(dir: string, file: OutputFileRef): Promise<Uint8Array> {
  const full = pathInside(dir, file.path);
  const where = `${JSON.stringify(file.path)} in ${dir}`;
  // pathInside checks the name; realpath checks where links in between would lead.
  const [root, target] = await Promise.all([realpath(dir), realpath(full)]);
  if (!target.startsWith(root + sep)) throw new OutputFolderError(`${where} leads outside the folder through a link`);
  const handle = await open(full, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    if (!(await handle.stat()).isFile()) throw new OutputFolderError(`${where} is not a regular file`);
    // One byte more than listed, at most: a file that grew since is told apart without reading all it grew to.
    const buffer = new Uint8Array(file.size + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0 || (filled += bytesRead) === buffer.length) break;
    }
    const bytes = buffer.subarray(0, filled);
    if (bytes.length !== file.size) throw new OutputFolderError(`${where} is not the ${file.size} bytes listed: it has changed, or is another file`);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (sha256 !== file.sha256) throw new OutputFolderError(`${where} has sha256 ${sha256}, not the ${file.sha256} listed`);
    return bytes;
  } finally {
    await handle.close();
  }
}
