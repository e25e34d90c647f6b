import { z } from "zod";
import { SavedCheckpoint } from "./checkpoint.ts";
import { EgressUsage } from "./egress.ts";
import { JobGpuUsage } from "./gpuUsage.ts";
import { JobTransferMetrics } from "./transferMetrics.ts";
import { JobSpec, ResolvedInputFile } from "./jobSpec.ts";
import { JobStatus, SettlementStatus } from "./jobStatus.ts";
import { plainText } from "./labels.ts";
import { LatestReported } from "./reportedMetrics.ts";
import { StopEarly } from "./stopEarly.ts";
import { OutputManifest } from "./manifest.ts";
import { WebhookEventType } from "./webhookEvents.ts";

export const JobMetrics = z.object({
  queue_ms: z.number().nullable().meta({ description: "created → assigned to a provider" }),
  pull_ms: z.number().nullable().meta({ description: "assigned → container running (image pull and start)" }),
  run_ms: z.number().nullable().meta({ description: "How long the container ran, by its engine's start and finish times as the provider reported them; else container running → terminal as the API saw it" }),
  // A default, so a client still reads a job from a server that predates it.
  transfer: JobTransferMetrics.default({ inputs: null, outputs: null }).meta({ description: "How the job's files moved: route (direct, turn or relay), bytes and time" }),
  egress: EgressUsage.nullable()
    .default(null)
    .meta({ description: "For a job with network.allow: what it moved through its provider's egress proxy, per host (bytes out and in, TLS included; never contents), and how many connections were refused. Null otherwise" }),
  gpu: JobGpuUsage.nullable()
    .default(null)
    .meta({ description: "For a job with GPUs: each GPU's utilization, memory, power and temperature while it ran, as its provider sampled them with nvidia-smi (the provider's report, not proven). Null without GPUs or samples" }),
});

export const Job = z
  .object({
    id: z.string(),
    status: JobStatus,
    status_detail: z.string().nullable().meta({ description: "Why the job is where it is, e.g. why no provider fits yet" }),
    spec: JobSpec,
    resolved_input_files: z
      .array(ResolvedInputFile)
      .nullable()
      // A default, so a client still reads a job from a server that predates it.
      .default(null)
      .meta({
        description:
          "The spec's input_files as the provider checks them: an entry that names another job's output (`from`) with that output's size and sha256 from its job's manifest. " +
          "Null for a job without input_files, and while an entry still waits for its job to finish (status_detail says which)",
      }),
    output: OutputManifest.nullable(),
    error: z.string().nullable(),
    exit_code: z.int().nullable(),
    logs: z.string().meta({ description: "The last lines of the job's output" }),
    metrics: JobMetrics,
    reported_metrics: LatestReported.nullable()
      // A default, so a client still reads a job from a server that predates it.
      .default(null)
      .meta({
        description:
          "Each metric's newest point (`step`, `value`), as the job reported them on lines of its output that start with `POND_METRICS ` (copied here about every second while it runs). " +
          "Every point: `GET /v1/jobs/{id}/reported-metrics`. Null before any",
      }),
    provider: z.string().nullable(),
    attempt: z.int(),
    checkpoint: SavedCheckpoint.nullable()
      // A default, so a client still reads a job from a server that predates it.
      .default(null)
      .meta({ description: "For a job with spec.checkpoint: the latest checkpoint its provider saved (kept across attempts: a requeued job resumes from it). Null until one is saved" }),
    settlement: SettlementStatus,
    chain_job_id: z.string().meta({ description: "The job's id in the market contract (the authorization's job_key)" }),
    price: z
      .object({
        rate_wei_per_second: z.string().nullable().meta({ description: "The provider's rate for this job" }),
        max_wei: z.string().nullable().meta({ description: "The most the provider may claim: the rate over the whole timeout" }),
        claimed_wei: z.string().nullable().meta({ description: "What the provider claimed in its signed result" }),
        claim_signature: z.string().nullable().meta({ description: "The provider's EIP-712 JobResult signature over (job key, result hash, claimed_wei): what a challenge names" }),
      })
      .meta({ description: "What the job costs, once a provider has taken it" }),
    created_at: z.string(),
    started_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    urls: z.object({ get: z.string(), cancel: z.string(), logs: z.string(), outputs: z.string(), reported_metrics: z.string().optional() }),
    webhook: z.string().nullable(),
    webhook_events_filter: z.array(WebhookEventType),
    template: z.string().nullable().meta({ description: "The template version the spec was resolved from (owner/name@1.2.0), if any" }),
    // Read loosely (a server may come to allow more), and a default for a server that predates labels.
    labels: z.record(z.string(), z.string()).default({}).meta({ description: "The creator's labels (see JobLabels)" }),
  })
  .meta({ id: "Job" });
export type Job = z.infer<typeof Job>;

export const JobPage = z
  .object({
    results: z.array(Job),
    next: z.string().nullable().meta({ description: "URL of the next (older) page, or null" }),
    previous: z.string().nullable().meta({ description: "URL of the previous (newer) page, or null" }),
  })
  .meta({ id: "JobPage" });

/** A batch create's answer: the jobs, in the order they were asked for. */
export const JobBatch = z
  .object({ jobs: z.array(Job), stop_early: StopEarly.optional().meta({ description: "The early stopping the batch was created with, as the API applies it" }) })
  .meta({ id: "JobBatch" });
export type JobBatch = z.infer<typeof JobBatch>;

export const JobTransition = z
  .object({ from: JobStatus.nullable(), to: JobStatus, detail: z.string().nullable(), at: z.string() })
  .meta({ id: "JobTransition" });
export const JobTransitions = z.object({ results: z.array(JobTransition) });

/** `POST /v1/jobs/{id}/cancel`'s body, which may be left out: why, for whoever reads the job later. */
export const CancelJobRequest = z
  .object({ reason: plainText(200).min(1).optional().meta({ description: "Why it was canceled: the job's status_detail then says so" }) })
  .strict()
  .meta({ id: "CancelJobRequest" });

/** A job's status_detail once its creator has canceled it, with the reason they gave. */
export const canceledByCreator = (reason?: string) => (reason ? `canceled by its creator: ${reason}` : "canceled by its creator");

/** What a batch's early stopping (protocol/medianRule.ts) gives as the start of each cancel's reason. */
export const STOPPED_EARLY = "stopped early";

/** Whether a job was stopped by a sweep's early stopping: its cancel's reason says so. */
export const stoppedEarly = (job: Pick<Job, "status" | "status_detail">) => job.status === "canceled" && (job.status_detail?.startsWith(canceledByCreator(STOPPED_EARLY)) ?? false);
