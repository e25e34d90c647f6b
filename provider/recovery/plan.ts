// What a starting daemon does with what an earlier one left: its labelled
// containers, the job folders under <dataDir>/jobs, and the results waiting in
// the outbox. Pure, so every case is unit-tested. A container whose folder
// holds a job record is adopted and seen through; a record whose job never got
// a container waits for the hub's start; the rest is removed. The hub then
// has its say: a job it no longer gives this provider is canceled, and goes.
import type { JobRecord } from "../jobRecord.ts";

export interface LeftContainer {
  id: string;
  jobId: string;
  /** Docker's state: created, running, exited, … */
  state: string;
}

export interface LeftFolder {
  /** The folder's name under <dataDir>/jobs (a job id, or `mediation-<id>`). */
  name: string;
  workDir: string;
  record?: JobRecord;
}

export interface Adoption {
  record: JobRecord;
  workDir: string;
  containerId: string;
}

export interface RecoveryPlan {
  /** Containers of jobs that were running (or ended while the daemon was away): seen through to their result. */
  adopt: Adoption[];
  /** Accepted jobs that never had a container: kept until the hub starts (or cancels) them. */
  awaitStart: Array<{ record: JobRecord; workDir: string }>;
  removeContainers: Array<{ id: string; why: string }>;
  removeFolders: Array<{ workDir: string; why: string }>;
}

/** States in which a container ran: adopted, as its job's run (a created one never started). */
const RAN = new Set(["running", "paused", "restarting", "exited", "dead"]);

export function planRecovery(containers: readonly LeftContainer[], folders: readonly LeftFolder[], pendingResults: ReadonlySet<string>): RecoveryPlan {
  const plan: RecoveryPlan = { adopt: [], awaitStart: [], removeContainers: [], removeFolders: [] };
  const claimed = new Set<string>();
  for (const folder of folders) {
    const record = folder.record;
    const jobId = record?.offer.job_id;
    if (!record || jobId !== folder.name) {
      plan.removeFolders.push({ workDir: folder.workDir, why: record ? "the record names another job" : "no job record (a mediation, or an unfinished accept)" });
      continue;
    }
    if (pendingResults.has(jobId)) {
      // Its result is in the outbox, its outputs uploaded before that: nothing here is needed.
      plan.removeFolders.push({ workDir: folder.workDir, why: "its result waits in the outbox" });
      continue;
    }
    const own = containers.filter((c) => c.jobId === jobId);
    const container = own.find((c) => c.id === record.container_id) ?? (record.container_id === undefined ? own[0] : undefined);
    if (container && RAN.has(container.state)) {
      claimed.add(container.id);
      plan.adopt.push({ record, workDir: folder.workDir, containerId: container.id });
    } else if (container?.state === "created" || (!container && record.container_id === undefined)) {
      // Never started: nothing ran, so the job can start from the beginning when the hub says so.
      plan.awaitStart.push({ record: withoutContainer(record), workDir: folder.workDir });
    } else {
      // It ran, and what it did is gone with its container: the hub hears it was lost.
      plan.removeFolders.push({ workDir: folder.workDir, why: container ? `its container is ${container.state}` : "its container is gone" });
    }
  }
  for (const container of containers) {
    if (!claimed.has(container.id)) plan.removeContainers.push({ id: container.id, why: whyRemoved(container, plan) });
  }
  return plan;
}

function withoutContainer(record: JobRecord): JobRecord {
  const { container_id: _gone, pull_ms: _pull, log: _log, ...rest } = record;
  return rest;
}

function whyRemoved(container: LeftContainer, plan: RecoveryPlan): string {
  if (plan.awaitStart.some((job) => job.record.offer.job_id === container.jobId)) return "it never started; the job starts afresh when the hub says so";
  return "no job record to finish it with";
}
