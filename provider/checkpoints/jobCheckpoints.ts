// The job runner's two uses of checkpoints (protocol/checkpoint.ts): a requeued
// job's latest checkpoint fetched before it starts, and a running job's saved
// while it runs, each only for a job whose spec asks for them.
import { join } from "node:path";
import type { Logger } from "pino";
import type { PrivateKeyAccount } from "viem/accounts";
import { CHECKPOINT_FOLDER, checkpointOutputPath } from "../../protocol/checkpoint.ts";
import { HUB_PROTOCOL_VERSION, type OfferMessage } from "../../protocol/hubMessages.ts";
import { checkpointLimits } from "../../protocol/limits.ts";
import type { HubClient } from "../connection/hubClient.ts";
import { describeProgress } from "../dataplane/progressDetail.ts";
import { uploadOutput } from "../uploads.ts";
import { CheckpointSaver } from "./checkpointSaver.ts";
import { fetchCheckpoint, type RestoredCheckpoint } from "./checkpointRestore.ts";

export interface CheckpointDeps {
  api: string;
  account: PrivateKeyAccount;
  hub: HubClient;
  log: Logger;
  maxOutputBytes: number;
}

/** Whether the offer names a checkpoint to resume from: its files must be fetched (after the hub's start) before the job runs. */
export function resumesFromCheckpoint(offer: OfferMessage): boolean {
  return offer.spec.checkpoint !== undefined && offer.checkpoint !== undefined;
}

/** Fetches the checkpoint the job's offer names, if any; `detail` tells the creator how far it got. */
export async function restoreCheckpoint(deps: CheckpointDeps, job: { offer: OfferMessage; workDir: string }, detail: (text: string) => void, signal: AbortSignal): Promise<RestoredCheckpoint | undefined> {
  const { offer } = job;
  if (!resumesFromCheckpoint(offer)) return undefined;
  const checkpoint = offer.checkpoint!;
  const started = Date.now();
  const restored = await fetchCheckpoint({
    api: deps.api,
    account: deps.account,
    jobId: offer.job_id,
    checkpoint,
    workDir: job.workDir,
    signal,
    // In percent, as the inputs' progress: throttledDetail thins those out (every chunk reports).
    onProgress: (done, total) => detail(describeProgress(`fetching the checkpoint saved at ${new Date(checkpoint.saved_at).toISOString()}`, done, total, "from the API's store")),
  }).catch((error: unknown) => {
    throw new Error(`could not fetch the checkpoint to resume from: ${(error as Error).message}`);
  });
  deps.log.info({ job: offer.job_id, files: restored.files.length, bytes: checkpoint.bytes, moved: restored.bytes, ms: Date.now() - started, savedAt: checkpoint.saved_at }, "checkpoint restored");
  return restored;
}

/** Starts saving the job's checkpoint folder every interval, when its spec asks; `notice` reaches the job's log. */
export function startSaving(deps: CheckpointDeps, job: { offer: OfferMessage; workDir: string }, notice: (text: string) => void): CheckpointSaver | undefined {
  const { offer } = job;
  if (!offer.spec.checkpoint) return undefined;
  const jobId = offer.job_id;
  const saver = new CheckpointSaver({
    jobId,
    dir: join(job.workDir, "outputs", CHECKPOINT_FOLDER),
    stageDir: join(job.workDir, "checkpoint-saving"),
    intervalMs: (offer.spec.checkpoint.interval_s ?? checkpointLimits.defaultIntervalS) * 1000,
    maxBytes: deps.maxOutputBytes,
    upload: (file, copy, signal) =>
      uploadOutput({ api: deps.api, account: deps.account, jobId, path: checkpointOutputPath(file.path), file: copy, sha256: file.sha256, size: file.size, signal }),
    report: (files) => deps.hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.checkpoint", job_id: jobId, files }),
    notice,
    log: deps.log,
    // What it resumed from is stored already, under the same keys.
    stored: offer.checkpoint?.files ?? [],
  });
  saver.start();
  return saver;
}
