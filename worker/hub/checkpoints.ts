// A provider's report that it saved its job's checkpoint (protocol/checkpoint.ts):
// every file must be uploaded already (R2 checked its sha256 as it stored it),
// the job must be this provider's and running, and saves come no closer than
// half of checkpointLimits.minIntervalS. The latest is kept on the job across its
// attempts (a requeued job's next offer carries it) with the one its attempt
// resumed from (a mediator re-runs the attempt from that), and the files of the
// one before that neither names are deleted from R2.
import type { Address } from "viem";
import { and, eq, inArray } from "drizzle-orm";
import { checkpointObjectKey, resumedFromOf, type CheckpointFiles, type SavedCheckpoint } from "../../protocol/checkpoint.ts";
import type { CheckpointMessage } from "../../protocol/hubMessages.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { checkpointLimits } from "../../protocol/limits.ts";
import { jobs } from "../db/schema.ts";
import type { HubState } from "./hubState.ts";
import { headedSize } from "./resultCheck.ts";
import { sendError } from "./sockets.ts";

const RUNNING = ["starting", "processing"];

export async function onCheckpoint(state: HubState, ws: WebSocket, address: Address, message: CheckpointMessage): Promise<void> {
  const jobId = message.job_id;
  const refuse = (why: string) => sendError(ws, "checkpoint_refused", `the checkpoint of job ${jobId} was not kept: ${why}`);
  // Only once its accept landed here (a job's messages are handled in the order sent).
  const reservation = state.store.reservation(jobId);
  if (reservation?.address !== address || reservation.state !== "accepted") return refuse("it is not a job of yours running here");
  const db = state.jobContext().db;
  const job = (await db.select({ status: jobs.status, provider: jobs.provider, attempt: jobs.attempt, spec: jobs.spec, checkpoint: jobs.checkpoint }).from(jobs).where(eq(jobs.id, jobId)))[0];
  if (!job || job.provider !== address || !RUNNING.includes(job.status)) return refuse("it is not a job of yours running here");
  if (!(job.spec as JobSpec).checkpoint) return refuse("its spec asks for no checkpoints");
  const bytes = message.files.reduce((sum, file) => sum + file.size, 0);
  if (bytes > state.config.maxOutputBytes) return refuse(`its files hold ${bytes} bytes, more than the ${state.config.maxOutputBytes} a job's outputs may`);
  const previous = job.checkpoint as SavedCheckpoint | null;
  const now = Date.now();
  // Half the least interval a spec may ask: the daemon waits a whole one from the end of its last save, and the
  // two messages may wait here behind different work (a D1 read, the job's log), so their gap arrives shorter.
  if (previous && previous.attempt === job.attempt && now - previous.saved_at < (checkpointLimits.minIntervalS * 1000) / 2) {
    return refuse(`the last was kept ${now - previous.saved_at} ms ago; save at most once every ${checkpointLimits.minIntervalS} s`);
  }
  const missing = await notStored(state.env.OUTPUTS, jobId, message.files);
  if (missing) return refuse(missing);
  // The one this attempt started from stays named (and stored): a mediator re-runs the attempt from it.
  const resumedFrom = resumedFromOf(previous, job.attempt);
  const saved: SavedCheckpoint = { files: message.files, bytes, saved_at: now, provider: address, attempt: job.attempt, ...(resumedFrom ? { resumed_from: resumedFrom } : {}) };
  // Still this provider's and running: a cancel or a requeue since the read above wins.
  const kept = await db
    .update(jobs)
    .set({ checkpoint: saved })
    .where(and(eq(jobs.id, jobId), eq(jobs.provider, address), inArray(jobs.status, RUNNING)))
    .returning({ id: jobs.id });
  // Only the latest, and the one its attempt started from, are ever read again: what the one before named, and
  // this one does not, goes, so a job that saves every few seconds for a day keeps two checkpoints in R2, not thousands.
  if (kept.length > 0 && previous) await state.env.OUTPUTS.delete(superseded(jobId, previous, saved));
}

/** The R2 keys of the files `before` named (itself and what it resumed from) that `now` does not. */
export function superseded(jobId: string, before: SavedCheckpoint, now: SavedCheckpoint): string[] {
  const named = (checkpoint: SavedCheckpoint) => [...checkpoint.files, ...(checkpoint.resumed_from?.files ?? [])].map((file) => checkpointObjectKey(jobId, file));
  const keep = new Set(named(now));
  return [...new Set(named(before))].filter((candidate) => !keep.has(candidate));
}

/** Why one of the files is not in R2 as named, or undefined when all are. */
async function notStored(bucket: R2Bucket, jobId: string, files: CheckpointFiles): Promise<string | undefined> {
  for (const file of files) {
    const size = await headedSize(bucket, checkpointObjectKey(jobId, file), file.sha256);
    if (size === undefined) return `${file.path} was not uploaded`;
    if (size === "wrong-sha256") return `${file.path} does not have the sha256 named`;
    if (size !== file.size) return `${file.path} is ${size} bytes, not the ${file.size} named`;
  }
  return undefined;
}
