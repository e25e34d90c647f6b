// At start, before the hub hears from this daemon: read what an earlier run
// left, decide (plan.ts), and clear away what is not adopted: containers,
// output volumes still mounted, job folders. What is adopted is returned for
// the daemon to carry on with.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { DockerExecutor } from "../executor/docker.ts";
import { leftoverVolumes, unmountOutputVolume } from "../executor/outputVolume.ts";
import { removeFolder } from "../folderRemoval.ts";
import { readJobRecord } from "../jobRecord.ts";
import type { ResultOutbox } from "../outbox.ts";
import { planRecovery, type LeftFolder, type RecoveryPlan } from "./plan.ts";

export interface RecoveryDeps {
  executor: DockerExecutor;
  jobsRoot: string;
  outbox: ResultOutbox;
  log: Logger;
}

export async function recoverLeftovers({ executor, jobsRoot, outbox, log }: RecoveryDeps): Promise<RecoveryPlan> {
  const plan = planRecovery(await executor.ownContainers(), await jobFolders(jobsRoot, log), new Set(outbox.pending().map((result) => result.job_id)));
  for (const container of plan.removeContainers) {
    log.warn({ container: container.id, why: container.why }, "removing a container left by an earlier run");
    await executor.removeContainer(container.id);
  }
  const adopted = new Set(plan.adopt.map((job) => job.workDir));
  for (const workDir of await leftoverVolumes(jobsRoot, adopted)) {
    log.warn({ workDir }, "unmounting an output volume left by an earlier run");
    await unmountOutputVolume(workDir);
  }
  for (const folder of plan.removeFolders) {
    log.warn({ workDir: folder.workDir, why: folder.why }, "removing a job folder left by an earlier run");
    // One that cannot go must not keep the daemon from starting; the next start tries again.
    await removeFolder(folder.workDir).catch((error: unknown) => log.error({ err: error, workDir: folder.workDir }, "could not remove a job folder left by an earlier run"));
  }
  for (const job of plan.adopt) log.info({ job: job.record.offer.job_id, container: job.containerId }, "adopting a container left running by an earlier run");
  for (const job of plan.awaitStart) log.info({ job: job.record.offer.job_id }, "keeping an accepted job that had not started; the hub will start or cancel it");
  return plan;
}

async function jobFolders(jobsRoot: string, log: Logger): Promise<LeftFolder[]> {
  let entries;
  try {
    entries = await readdir(jobsRoot, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const folders: LeftFolder[] = [];
  for (const entry of entries.filter((e) => e.isDirectory())) {
    const workDir = join(jobsRoot, entry.name);
    const read = await readJobRecord(workDir);
    if (!read.ok && read.why !== "no job record") log.warn({ workDir, why: read.why }, "a job folder's record cannot be used");
    folders.push({ name: entry.name, workDir, ...(read.ok ? { record: read.record } : {}) });
  }
  return folders;
}
