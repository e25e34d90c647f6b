// Runs one job in Docker: image (pulled per policy, with progress), a
// locked-down container (sandbox.ts), demultiplexed logs, a timeout and a
// cancel that stop then kill, a watch on /outputs that kills a job filling the
// disk, and an outcome that says what happened. The container is always removed.
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import type { Logger } from "pino";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { MAX_OUTPUT_FILES } from "../../protocol/limits.ts";
import { writeInputs } from "./inputs.ts";
import { watchOutputs } from "./outputWatcher.ts";
import { PullProgress, type PullEvent } from "./pullProgress.ts";
import { containerOptions, containerUserFor, JOB_LABEL, PROVIDER_LABEL } from "./sandbox.ts";

export type PullPolicy = "missing" | "always" | "never";
export type Outcome = "succeeded" | "failed" | "timed_out" | "canceled";

/** Seconds between SIGTERM and SIGKILL when a job is stopped. */
export const STOP_GRACE_S = 5;
const PROGRESS_EVERY_MS = 1_000;
/** The longest a pull may take; the job's own timeout starts only once it runs. */
const PULL_TIMEOUT_MS = 30 * 60_000;
/** How often /outputs is measured while the container runs. */
const OUTPUT_CHECK_MS = 1_000;

export interface RunRequest {
  jobId: string;
  spec: JobSpec;
  gpuUuids: readonly string[];
  workDir: string;
}

export interface RunHooks {
  onPhase(phase: "pulling" | "running", detail?: string): void;
  onLog(chunk: string): void;
}

export interface RunResult {
  outcome: Outcome;
  exitCode: number | null;
  error: string | null;
  pullMs: number;
  runMs: number;
  outputsDir: string;
}

export interface DockerExecutorOptions {
  pullPolicy: PullPolicy;
  provider: string;
  /** Most bytes a job may write to /outputs; past it the container is killed. */
  maxOutputBytes: number;
}

type Ended = "exited" | "timed_out" | "canceled" | { tooMuchOutput: string };

export class DockerExecutor {
  constructor(
    private readonly docker: Docker,
    private readonly log: Logger,
    private readonly options: DockerExecutorOptions,
  ) {}

  /** Removes this provider's containers: those an earlier run left (e.g. after a crash), or, at shutdown, any still there. */
  async cleanupLeftovers(): Promise<number> {
    const leftovers = await this.docker.listContainers({ all: true, filters: { label: [`${PROVIDER_LABEL}=${this.options.provider}`] } });
    let removed = 0;
    for (const info of leftovers) {
      this.log.warn({ container: info.Id, job: info.Labels[JOB_LABEL] }, "removing a leftover container");
      try {
        await this.docker.getContainer(info.Id).remove({ force: true });
        removed += 1;
      } catch (error) {
        // Gone already, or being removed by the run that owned it: nothing left to do.
        const status = (error as { statusCode?: number }).statusCode;
        if (status !== 404 && status !== 409) throw error;
      }
    }
    return removed;
  }

  async run(request: RunRequest, hooks: RunHooks, signal: AbortSignal): Promise<RunResult> {
    const log = this.log.child({ job: request.jobId });
    const outputsDir = join(request.workDir, "outputs");
    const inputsDir = join(request.workDir, "inputs");
    const pullStarted = Date.now();
    const result = (outcome: Outcome, error: string | null, extra: Partial<RunResult> = {}): RunResult => ({
      outcome,
      exitCode: null,
      error,
      pullMs: Date.now() - pullStarted,
      runMs: 0,
      outputsDir,
      ...extra,
    });

    try {
      await this.ensureImage(request.spec.image, hooks, signal);
    } catch (error) {
      if (signal.aborted) return result("canceled", "canceled while the image was being pulled");
      return result("failed", `could not get image ${request.spec.image}: ${(error as Error).message}`);
    }
    if (signal.aborted) return result("canceled", "canceled before the container started");

    await writeInputs(inputsDir, request.spec.inputs ?? []);
    await mkdir(outputsDir, { recursive: true });
    // The container runs as nobody; it must be able to write its outputs.
    await chmod(outputsDir, 0o777);

    const container = await this.docker.createContainer(
      containerOptions({
        jobId: request.jobId,
        provider: this.options.provider,
        spec: request.spec,
        gpuUuids: request.gpuUuids,
        inputsDir,
        outputsDir,
        user: containerUserFor(process.getuid?.(), process.getgid?.()),
      }),
    );
    const pullMs = Date.now() - pullStarted;
    try {
      const logs = await this.attachLogs(container, hooks);
      try {
        await container.start();
      } catch (error) {
        return result("failed", `the container could not start: ${dockerMessage(error)}`, { pullMs });
      }
      const runStarted = Date.now();
      hooks.onPhase("running");
      log.info("container started");

      const ended = await this.waitOrStop(container, request.spec.timeout_s * 1000, signal, outputsDir);
      await Promise.race([logs.ended, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      const runMs = Date.now() - runStarted;
      const state = (await container.inspect()).State;
      const exitCode = typeof state.ExitCode === "number" ? state.ExitCode : null;
      const extra = { pullMs, runMs, exitCode };
      if (ended === "canceled") return result("canceled", "canceled while running", extra);
      if (typeof ended === "object") return result("failed", `${ended.tooMuchOutput} and was stopped`, extra);
      if (ended === "timed_out") return result("timed_out", `the job ran past its timeout of ${request.spec.timeout_s} s and was stopped`, extra);
      if (state.OOMKilled) return result("failed", `the container ran out of memory (limit ${request.spec.resources.memory_mb} MiB) and was killed`, extra);
      if (exitCode !== 0) return result("failed", `the container exited with code ${exitCode}`, extra);
      return result("succeeded", null, extra);
    } finally {
      await container.remove({ force: true }).catch((error: unknown) => log.error({ err: error }, "could not remove the container"));
    }
  }

  private async ensureImage(image: string, hooks: RunHooks, jobSignal: AbortSignal): Promise<void> {
    const present = await this.docker
      .getImage(image)
      .inspect()
      .then(() => true)
      .catch(() => false);
    if (this.options.pullPolicy === "never" || (this.options.pullPolicy === "missing" && present)) {
      if (!present) throw new Error("the image is not on this host and the pull policy is 'never'");
      return;
    }
    hooks.onPhase("pulling", `pulling ${image}`);
    const progress = new PullProgress();
    let lastReport = 0;
    const deadline = AbortSignal.timeout(PULL_TIMEOUT_MS);
    const signal = AbortSignal.any([jobSignal, deadline]);
    const why = () => (deadline.aborted ? new Error(`the pull did not finish within ${PULL_TIMEOUT_MS / 60_000} minutes`) : new Error("the pull was canceled"));
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(image, { abortSignal: signal });
    } catch (error) {
      throw signal.aborted ? why() : error;
    }
    await new Promise<void>((resolve, reject) => {
      let failed: Error | undefined;
      // An aborted request may just end the stream, which followProgress reports as success.
      const onAbort = () => reject(why());
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
      this.docker.modem.followProgress(
        stream,
        (error: Error | null) => {
          signal.removeEventListener("abort", onAbort);
          if (signal.aborted) return reject(why());
          const reason = error ?? failed;
          return reason ? reject(reason) : resolve();
        },
        // Docker reports a failed pull (unknown tag, denied, disk full) as an event in a 200 stream.
        (event: PullEvent & { error?: string; errorDetail?: { message?: string } }) => {
          if (event.error || event.errorDetail) {
            failed ??= new Error(event.errorDetail?.message ?? event.error ?? "the registry reported an error");
            return;
          }
          progress.update(event);
          const now = Date.now();
          if (now - lastReport >= PROGRESS_EVERY_MS) {
            lastReport = now;
            hooks.onPhase("pulling", progress.describe(image));
          }
        },
      );
    });
  }

  /** Attaches before start, so not a line is lost; `ended` resolves when the streams end. */
  private async attachLogs(container: Docker.Container, hooks: RunHooks): Promise<{ ended: Promise<void> }> {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    this.docker.modem.demuxStream(stream, out, out);
    out.setEncoding("utf8");
    out.on("data", (chunk: string) => hooks.onLog(chunk));
    // Wrapped in an object: an async function returning a bare promise would wait for it.
    const ended = new Promise<void>((resolve) => {
      stream.on("end", resolve);
      stream.on("close", resolve);
      stream.on("error", resolve);
    });
    return { ended };
  }

  private async waitOrStop(container: Docker.Container, timeoutMs: number, signal: AbortSignal, outputsDir: string): Promise<Ended> {
    let stopping: Exclude<Ended, "exited"> | undefined;
    const stop = (why: "timed_out" | "canceled") => {
      if (stopping) return;
      stopping = why;
      container.stop({ t: STOP_GRACE_S }).catch(() => container.kill().catch(() => undefined));
    };
    const timer = setTimeout(() => stop("timed_out"), timeoutMs);
    const onAbort = () => stop("canceled");
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    // Killed at once, no grace: every second it keeps writing fills the provider's disk.
    const watch = watchOutputs(
      outputsDir,
      { maxFiles: MAX_OUTPUT_FILES, maxTotalBytes: this.options.maxOutputBytes },
      (reason) => {
        if (stopping) return;
        stopping = { tooMuchOutput: reason };
        container.kill().catch(() => container.stop({ t: 0 }).catch(() => undefined));
      },
      { intervalMs: OUTPUT_CHECK_MS, onError: (error) => this.log.warn({ err: error, outputsDir }, "could not measure /outputs") },
    );
    try {
      await container.wait();
    } finally {
      clearTimeout(timer);
      watch.stop();
      signal.removeEventListener("abort", onAbort);
    }
    return stopping ?? "exited";
  }
}

function dockerMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json;
  return json?.message ?? (error as Error).message;
}
