// Fetching a finished job's outputs into a folder: every file the manifest
// names, its sha256 checked before it is kept, written only inside the folder.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import type { Job } from "../protocol/job.ts";
import type { ManifestFile } from "../protocol/manifest.ts";
import type { PondClient } from "../sdk/index.ts";
import { OutputIntegrityError, UsageError } from "./errors.ts";
import { exitCodes } from "./exitCodes.ts";
import type { Progress } from "./progress.ts";

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
  let done = 0;
  for (const file of files) {
    const target = outputPathIn(dir, file.path);
    // A copy already here (from a peer-to-peer transfer cut short, or an earlier run) is kept.
    if (await isVerifiedCopy(target, file)) {
      done += file.size;
      continue;
    }
    const bytes = await client.downloadOutput(job.id, file.path);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (bytes.length !== file.size || sha256 !== file.sha256) {
      throw new OutputIntegrityError(`${file.path} arrived with ${bytes.length} bytes and sha256 ${sha256}; the manifest says ${file.size} bytes and ${file.sha256}: nothing was written for it`);
    }
    await mkdir(dirname(target), { recursive: true });
    // Whole or not at all: a crash never leaves half a file under its real name.
    await writeFile(`${target}.partial`, bytes);
    await rename(`${target}.partial`, target);
    done += file.size;
    progress?.update(`downloading ${job.id}`, done, total);
  }
  if (files.length > 0) progress?.finish(`downloading ${job.id}`);
  return files;
}

/** Whether `path` holds exactly `file` (its size and sha256), so it need not be fetched again. */
export async function isVerifiedCopy(path: string, file: ManifestFile): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile() || info.size !== file.size) return false;
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex") === file.sha256;
}
