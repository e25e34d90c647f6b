// A job's checkpoint as the CLI prints it: whether it saves them, the latest kept
// (when, by which provider, in which attempt), and whether this attempt resumed from one.
import type { Job } from "../protocol/job.ts";
import { checkpointLimits } from "../protocol/limits.ts";

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

export function describeCheckpoint(job: Pick<Job, "spec" | "checkpoint" | "attempt" | "status">): string[] {
  const asked = job.spec.checkpoint;
  if (!asked) return [];
  const every = `every ${asked.interval_s ?? checkpointLimits.defaultIntervalS} s`;
  const saved = job.checkpoint;
  if (!saved) return [`  checkpoint: none saved yet (${every})`];
  const files = `${saved.files.length} file${saved.files.length === 1 ? "" : "s"}, ${mib(saved.bytes)}`;
  const when = `${new Date(saved.saved_at).toISOString()} by ${saved.provider} in attempt ${saved.attempt + 1}`;
  // Saved in an earlier attempt: the offer of every later one carried it.
  const resumed = saved.attempt < job.attempt ? (job.status === "queued" ? "; the next attempt resumes from it" : "; this attempt resumed from it") : "";
  return [`  checkpoint: ${files}, saved ${when} (${every})${resumed}`];
}
