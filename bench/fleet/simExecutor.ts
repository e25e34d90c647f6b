// The one part of a provider the fleet replaces: the container. It "runs" a job
// for a chosen time, prints one log line and writes one small real output file,
// which the daemon's own code (provider/jobRunner.ts, provider/results.ts) then
// hashes, uploads, signs and reports exactly as it would a container's.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { JobExecutor, PreparedContainer, RunHooks, RunRequest, RunResult } from "../../provider/executor/docker.ts";

export class SimulatedExecutor implements JobExecutor {
  constructor(
    private readonly runMs: number,
    private readonly provider: string,
  ) {}

  /** No container keeps an environment here: nothing to read back. */
  async secretsOf(): Promise<Record<string, string> | undefined> {
    return undefined;
  }

  /** Nothing to make ahead: the run does it all, as a real one whose image must be pulled. */
  async prepare(): Promise<PreparedContainer | undefined> {
    return undefined;
  }

  async run(request: RunRequest, hooks: RunHooks, signal: AbortSignal): Promise<RunResult> {
    const outputsDir = join(request.workDir, "outputs");
    await mkdir(outputsDir, { recursive: true });
    const startedAt = new Date();
    hooks.onPhase("running");
    hooks.onLog(`simulated run of ${request.jobId} on ${this.provider}\n`);
    const ended = await sleepUnlessAborted(this.runMs, signal);
    const finishedAt = new Date();
    const runMs = finishedAt.getTime() - startedAt.getTime();
    if (!ended) return { outcome: "canceled", exitCode: null, error: "canceled while running", pullMs: 0, runMs, outputsDir, containerId: null };
    await writeFile(join(outputsDir, "result.txt"), `${request.jobId} ran for ${runMs} ms on ${this.provider}\n`);
    return {
      outcome: "succeeded",
      exitCode: 0,
      error: null,
      pullMs: 0,
      runMs,
      outputsDir,
      containerId: null,
      image: { warm: true, ms: 0 },
      ran: { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString() },
    };
  }

  resume(): Promise<RunResult> {
    return Promise.reject(new Error("a simulated provider has no containers to resume"));
  }

  async dispose(): Promise<void> {
    // No container and no output volume: the daemon removes the job's folder itself.
  }
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
