// A requeued job's way back to where it was (protocol/checkpoint.ts): the files of
// the latest checkpoint its offer names are fetched from the API's store into a
// folder of the daemon's (each checked against its sha256, a cut read resumed),
// then put in /outputs/checkpoint just before the container is made, writable
// by the job's unprivileged user.
import { chmod, copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { PrivateKeyAccount } from "viem/accounts";
import { pathInside } from "../../p2p/node/storagePath.ts";
import { CHECKPOINT_FOLDER, checkpointOutputPath, type CheckpointSet } from "../../protocol/checkpoint.ts";
import type { ManifestFile } from "../../protocol/manifest.ts";
import { fetchFromSources } from "../dataplane/sourceFetch.ts";

/** Where a job's fetched checkpoint waits in its folder until its /outputs is ready. */
export function restoredCheckpointDir(workDir: string): string {
  return join(workDir, "checkpoint-restored", "files");
}

/** A checkpoint fetched for a job: what it holds, and where. */
export interface RestoredCheckpoint {
  dir: string;
  files: readonly ManifestFile[];
}

export async function fetchCheckpoint(options: {
  api: string;
  account: PrivateKeyAccount;
  jobId: string;
  checkpoint: CheckpointSet;
  workDir: string;
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
}): Promise<RestoredCheckpoint & { bytes: number }> {
  const dir = restoredCheckpointDir(options.workDir);
  const fetched = await fetchFromSources({
    api: options.api,
    account: options.account,
    jobId: options.jobId,
    read: "checkpoint",
    // The job's own uploads, under the output paths they were saved with.
    files: options.checkpoint.files.map((file) => ({ ...file, from: { job: options.jobId, output: checkpointOutputPath(file.path) } })),
    inputsDir: dir,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return { dir, files: options.checkpoint.files, bytes: fetched.bytes };
}

/**
 * Makes /outputs/checkpoint for a job that saves checkpoints, with the files it resumes from when there are any.
 * The container runs as an unprivileged user: it must be able to replace them.
 */
export async function placeCheckpoint(outputsDir: string, restored?: RestoredCheckpoint): Promise<void> {
  const folder = join(outputsDir, CHECKPOINT_FOLDER);
  await mkdir(folder, { recursive: true });
  await chmod(folder, 0o777);
  for (const file of restored?.files ?? []) {
    const target = pathInside(folder, file.path);
    for (let parent = dirname(target); parent !== folder && parent.startsWith(`${folder}/`); parent = dirname(parent)) {
      await mkdir(parent, { recursive: true });
      await chmod(parent, 0o777);
    }
    await copyFile(pathInside(restored!.dir, file.path), target);
    await chmod(target, 0o666);
  }
  // Copied into the job's volume: the daemon's copy would only hold the disk until the job's folder goes.
  if (restored) await rm(dirname(restored.dir), { recursive: true, force: true });
}
