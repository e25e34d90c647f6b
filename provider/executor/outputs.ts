// The result manifest over what a container wrote to /outputs: every regular
// file, its size and sha256. Links and special files are refused, not followed.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { RelativePath } from "../../protocol/jobSpec.ts";
import { buildManifest, type ManifestFile, type OutputManifest } from "../../protocol/manifest.ts";

export interface OutputLimits {
  maxFiles: number;
  maxTotalBytes: number;
}

export class OutputsError extends Error {
  override name = "OutputsError";
}

/** A job picks its file names: quoted JSON-style, so a newline or a quote in one cannot forge a line of the error. */
function quotedOutput(path: string): string {
  return JSON.stringify(`/outputs/${path}`);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function walk(root: string, dir: string, found: string[], limits: OutputLimits): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) await walk(root, full, found, limits);
    else if (entry.isFile()) found.push(full);
    else throw new OutputsError(`${quotedOutput(relative(root, full))} is not a regular file (links and devices are not outputs)`);
    if (found.length > limits.maxFiles) throw new OutputsError(`the job wrote more than ${limits.maxFiles} files to /outputs`);
  }
}

export async function manifestOf(outputsDir: string, limits: OutputLimits): Promise<OutputManifest> {
  const paths: string[] = [];
  await walk(outputsDir, outputsDir, paths, limits);
  const files: ManifestFile[] = [];
  let total = 0;
  for (const full of paths) {
    const path = relative(outputsDir, full).split(sep).join("/");
    if (!RelativePath.safeParse(path).success) throw new OutputsError(`${quotedOutput(path)} has a name outputs may not have (letters, digits, . _ - and / only)`);
    const { size } = await lstat(full);
    total += size;
    if (total > limits.maxTotalBytes) throw new OutputsError(`the job wrote more than ${limits.maxTotalBytes} bytes to /outputs`);
    files.push({ path, size, sha256: await sha256File(full) });
  }
  return buildManifest(files);
}
