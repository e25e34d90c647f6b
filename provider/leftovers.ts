// What a job (or a mediation's re-run) leaves once it is over for this daemon: its
// container, its /outputs volume (unmounted) and its folder. A removal that fails is
// tried again after pauses, since what fails may pass (a write finishing, a volume
// let go); past the last, the daemon's next start clears what is left.
import type { Logger } from "pino";
import type { DockerExecutor } from "./executor/docker.ts";
import { removeFolder } from "./folderRemoval.ts";

/** Pauses before a failed removal is tried again. */
const CLEANUP_PAUSES_MS = [500, 2_000, 8_000];

export interface Leftovers {
  jobId: string;
  workDir: string;
  containerId: string | null | undefined;
}

/** Removes them, trying again after pauses; never throws. Resolves once they are gone or given up on. */
export async function removeLeftovers(executor: Pick<DockerExecutor, "dispose">, log: Logger, leftovers: Leftovers): Promise<void> {
  if (await removeOnce(executor, log, leftovers)) return log.debug({ job: leftovers.jobId }, "job cleaned up");
  for (const pauseMs of CLEANUP_PAUSES_MS) {
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    if (await removeOnce(executor, log, leftovers)) return log.info({ job: leftovers.jobId }, "removed the job's leftovers on a later try");
  }
  log.error({ job: leftovers.jobId, workDir: leftovers.workDir }, "gave up removing the job's leftovers; the daemon's next start clears them");
}

async function removeOnce(executor: Pick<DockerExecutor, "dispose">, log: Logger, { jobId, workDir, containerId }: Leftovers): Promise<boolean> {
  try {
    await executor.dispose(workDir, containerId);
    await removeFolder(workDir);
    return true;
  } catch (error) {
    log.warn({ err: error, job: jobId }, "could not remove the job's container, output volume or folder");
    return false;
  }
}
