// Fetching a finished job's outputs into a folder: every file the manifest
// names, its sha256 checked before it is kept, written only inside the folder.
// Files stream to disk (a checkpoint of many GB never sits in memory), several
// at once (thousands of small ones are mostly round trips).
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { Job } from "../protocol/job.ts";
import type { ManifestFile } from "../protocol/manifest.ts";
import { forEachInPool } from "../p2p/core/pool.ts";
import type { PondClient } from "../sdk/index.ts";
import { OutputIntegrityError, UsageError } from "./errors.ts";
import { exitCodes } from "./exitCodes.ts";
import type { Progress } from "./progress.ts";

const DOWNLOADS_AT_ONCE = 8;

/** Where `path` (a manifest path) lands under `dir`; never outside it. */
export function outputPathIn(dir: string, path: string): string {
  const root = resolve(dir);
  const target = resolve(root, path);
  if (!target.startsWith(root + sep)) throw new OutputIntegrityError(`the output path ${JSON.stringify(path)} would leave ${root}`);
  return target;
}

export async function downloadOutputs(client: PondClient, job: Job, dir: string, progress?: Progress): Promise<ManifestFile[]> {
  const files = job.output?.files ?? [];
  if (files.length === 0 && job.status !== "succeeded") throw new UsageError(`job ${job.id} is ${job.status}: it has no outputs to download`, exitCodes.notFound);
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const label = `downloading ${job.id}`;
  let done = 0;
  const counted = (bytes: number) => {
    done += bytes;
    progress?.update(label, done, total);
  };
  await forEachInPool(files, DOWNLOADS_AT_ONCE, async (file, signal) => {
    const target = outputPathIn(dir, file.path);
    // A copy already here (from a peer-to-peer transfer cut short, or an earlier run) is kept.
    if (await isVerifiedCopy(target, file)) return counted(file.size);
    await downloadOne(client, job.id, file, target, counted, signal);
  });
  if (files.length > 0) progress?.finish(label);
  return files;
}

/** One file streamed to `<target>.partial` and hashed on the way, then renamed: whole and checked, or not under its name at all. */
async function downloadOne(client: PondClient, jobId: string, file: ManifestFile, target: string, counted: (bytes: number) => void, signal: AbortSignal): Promise<void> {
  const response = await client.openOutput(jobId, file.path, signal);
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  const hash = createHash("sha256");
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      size += chunk.length;
      // Past the manifest's size it can only be wrong: stop before it fills the disk.
      if (size > file.size) return next(new OutputIntegrityError(`${file.path} arrived with more than the ${file.size} bytes the manifest says: nothing was written for it`));
      hash.update(chunk);
      counted(chunk.length);
      next(null, chunk);
    },
  });
  const body = response.body ? Readable.fromWeb(response.body as NodeReadableStream) : Readable.from([]);
  try {
    await pipeline(body, tap, createWriteStream(partial), { signal });
    const sha256 = hash.digest("hex");
    if (size !== file.size || sha256 !== file.sha256) {
      throw new OutputIntegrityError(`${file.path} arrived with ${size} bytes and sha256 ${sha256}; the manifest says ${file.size} bytes and ${file.sha256}: nothing was written for it`);
    }
  } catch (error) {
    if (error instanceof OutputIntegrityError) await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, target);
}

/** Whether `path` holds exactly `file` (its size and sha256), so it need not be fetched again. */
export async function isVerifiedCopy(path: string, file: ManifestFile): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile() || info.size !== file.size) return false;
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex") === file.sha256;
}
