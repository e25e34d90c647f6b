// The result manifest over what a container wrote to /outputs: every regular
// file, its size and sha256. Links and special files are refused, not followed.
// The walk here (walkOutputs) is the one the output watch uses too.
import type { Dir } from "node:fs";
import { lstat, opendir } from "node:fs/promises";
import { join } from "node:path";
import { forEachInPool } from "../../p2p/core/pool.ts";
import { sha256OfFile } from "../../p2p/node/fileSha256.ts";
import { RelativePath } from "../../protocol/jobSpec.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { buildManifest, type ManifestFile, type OutputManifest } from "../../protocol/manifest.ts";

export interface OutputLimits {
  maxFiles: number;
  maxTotalBytes: number;
}

export class OutputsError extends Error {
  override name = "OutputsError";
}

/** Files read at once while the manifest is made: enough to keep the disk busy, few enough to leave the daemon room. */
const FILES_AT_ONCE = 8;
/** Entries read from a folder in one go: a folder of a million entries is never held whole. */
const ENTRIES_PER_READ = 128;

/** A job picks its file names: quoted JSON-style, so a newline or a quote in one cannot forge a line of the error. */
function quotedOutput(path: string): string {
  return JSON.stringify(`/outputs/${path}`);
}

export interface OutputEntry {
  /** Relative to /outputs, `/`-separated. */
  path: string;
  /** Where it is on the provider's disk: never for the creator's eyes. */
  full: string;
  kind: "file" | "folder" | "other";
}

/**
 * Everything under `root`, a few entries at a time, links not followed; an
 * entry that vanishes meanwhile (the job may still run) is skipped. A path
 * longer than an output's may be is refused before it is read: no manifest
 * could hold it, and so how deep the provider's own folder is changes neither
 * the verdict nor the error (which never names the provider's paths).
 */
export async function* walkOutputs(root: string): AsyncGenerator<OutputEntry> {
  // A stack, not recursion: a job can nest folders as deep as it likes.
  const pending = [""];
  while (pending.length > 0) {
    const folderPath = pending.pop()!;
    let folder: Dir;
    try {
      folder = await opendir(folderPath ? join(root, folderPath) : root, { bufferSize: ENTRIES_PER_READ });
    } catch (error) {
      if (isGone(error)) continue;
      throw error;
    }
    // Closed by the loop, however it ends.
    for await (const entry of folder) {
      const path = folderPath ? `${folderPath}/${entry.name}` : entry.name;
      if (path.length > jobLimits.maxPathLength) throw new OutputsError(tooDeep(path));
      const kind = entry.isDirectory() ? "folder" : entry.isFile() ? "file" : "other";
      if (kind === "folder") pending.push(path);
      yield { path, full: join(root, path), kind };
    }
  }
}

function tooDeep(path: string): string {
  const shown = `${path.slice(0, 64)}…`;
  return `the job's outputs nest too deeply: ${quotedOutput(shown)} is longer than the ${jobLimits.maxPathLength} characters an output's path may have`;
}

export async function manifestOf(outputsDir: string, limits: OutputLimits): Promise<OutputManifest> {
  const paths: string[] = [];
  for await (const entry of walkOutputs(outputsDir)) {
    if (entry.kind === "folder") continue;
    if (entry.kind === "other") throw new OutputsError(`${quotedOutput(entry.path)} is not a regular file (links and devices are not outputs)`);
    if (!RelativePath.safeParse(entry.path).success) throw new OutputsError(`${quotedOutput(entry.path)} has a name outputs may not have (letters, digits, . _ - and / only)`);
    paths.push(entry.path);
    if (paths.length > limits.maxFiles) throw new OutputsError(`the job wrote more than ${limits.maxFiles} files to /outputs`);
  }
  const sizes = new Map<string, number>();
  await forEachInPool(paths, FILES_AT_ONCE, async (path) => void sizes.set(path, (await lstat(join(outputsDir, path))).size));
  // Before anything is read: too much is refused without hashing it.
  let total = 0;
  for (const size of sizes.values()) total += size;
  if (total > limits.maxTotalBytes) throw new OutputsError(`the job wrote more than ${limits.maxTotalBytes} bytes to /outputs`);
  const files: ManifestFile[] = [];
  await forEachInPool(paths, FILES_AT_ONCE, async (path) => void files.push({ path, size: sizes.get(path)!, sha256: await sha256OfFile(join(outputsDir, path)) }));
  return buildManifest(files);
}

export function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
