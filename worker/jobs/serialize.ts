// A jobs row as the API shows it (protocol/job.ts).
import type { SavedCheckpoint } from "../../protocol/checkpoint.ts";
import type { EgressUsage } from "../../protocol/egress.ts";
import type { JobGpuUsage } from "../../protocol/gpuUsage.ts";
import type { Job } from "../../protocol/job.ts";
import type { JobLabels } from "../../protocol/labels.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { LatestReported } from "../../protocol/reportedMetrics.ts";
import type { JobTransferMetrics } from "../../protocol/transferMetrics.ts";
import type { JobStatus, SettlementStatus } from "../../protocol/jobStatus.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import type { WebhookEventType } from "../../protocol/webhookEvents.ts";
import type { jobs } from "../db/schema.ts";
import { resolvedFilesOf } from "./inputSources.ts";

export type JobRow = typeof jobs.$inferSelect;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const span = (from: number | null, to: number | null) => (from !== null && to !== null ? to - from : null);

export function jobUrls(baseUrl: string, id: string) {
  const get = `${baseUrl}/v1/jobs/${id}`;
  return { get, cancel: `${get}/cancel`, logs: `${get}/logs`, outputs: `${get}/outputs`, reported_metrics: `${get}/reported-metrics` };
}

export function serializeJob(row: JobRow, baseUrl: string): Job {
  return {
    id: row.id,
    status: row.status as JobStatus,
    status_detail: row.statusDetail,
    spec: row.spec as JobSpec,
    resolved_input_files: resolvedFilesOf(row),
    output: (row.output as OutputManifest | null) ?? null,
    error: row.error,
    exit_code: row.exitCode,
    logs: row.logsTail,
    metrics: {
      queue_ms: span(row.createdAt, row.assignedAt),
      pull_ms: span(row.assignedAt, row.startedAt),
      run_ms: row.containerRunMs ?? span(row.startedAt, row.completedAt),
      transfer: (row.transferMetrics as JobTransferMetrics | null) ?? { inputs: null, outputs: null },
      egress: (row.egressUsage as EgressUsage | null) ?? null,
      gpu: (row.gpuUsage as JobGpuUsage | null) ?? null,
    },
    reported_metrics: (row.reportedMetrics as LatestReported | null) ?? null,
    provider: row.provider,
    attempt: row.attempt,
    checkpoint: (row.checkpoint as SavedCheckpoint | null) ?? null,
    settlement: row.settlement as SettlementStatus,
    chain_job_id: row.chainJobId,
    price: { rate_wei_per_second: row.rateWeiPerSecond, max_wei: row.maxAmountWei, claimed_wei: row.amountWei, claim_signature: row.resultSignature },
    created_at: iso(row.createdAt)!,
    started_at: iso(row.startedAt),
    completed_at: iso(row.completedAt),
    urls: jobUrls(baseUrl, row.id),
    webhook: row.webhook,
    webhook_events_filter: row.webhookEventsFilter as WebhookEventType[],
    template: row.template,
    labels: (row.labels as JobLabels | null) ?? {},
  };
}
