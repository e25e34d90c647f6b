// A job's checkpoint as the CLI prints it: whether it saves them, the latest kept
// (when, by which provider, in which attempt), and the one its attempt resumed from.
import { formatBytes } from "../protocol/byteSize.ts";
import type { CheckpointSet } from "../protocol/checkpoint.ts";
import type { Job } from "../protocol/job.ts";
import { checkpointLimits } from "../protocol/limits.ts";


export function describeCheckpoint(job: Pick<Job, "spec" | "checkpoint" | "attempt" | "status">): string[] {
  const asked = job.spec.checkpoint;
  if (!asked) return [];
  const every = `every ${asked.interval_s ?? checkpointLimits.defaultIntervalS} s`;
  const saved = job.checkpoint;
  if (!saved) return [`  checkpoint: none saved yet (${every})`];
  // Saved in an earlier attempt: the offer of every later one carried it.
  const resumed = saved.attempt < job.attempt ? (job.status === "queued" ? "; the next attempt resumes from it" : "; this attempt resumed from it") : "";
  const lines = [`  checkpoint: ${described(saved)} (${every})${resumed}`];
  if (saved.resumed_from) lines.push(`  resumed from: ${described(saved.resumed_from)}`);
  return lines;
}

function described(set: CheckpointSet): string {
  const files = `${set.files.length} file${set.files.length === 1 ? "" : "s"}, ${formatBytes(set.bytes)}`;
  return `${files}, saved ${new Date(set.saved_at).toISOString()} by ${set.provider} in attempt ${set.attempt + 1}`;
}
