import { z } from "zod";
import type { JobStatus } from "./jobStatus.ts";

export const webhookEventTypes = [
  "job.queued",
  "job.started",
  "job.logs",
  "job.output",
  "job.succeeded",
  "job.failed",
  "job.canceled",
  "job.timed_out",
  "job.settled",
  "job.challenged",
  "job.refunded",
] as const;
export const WebhookEventType = z.enum(webhookEventTypes);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** The event a status change announces; `starting` is not announced on its own. */
export function eventForStatus(status: JobStatus): WebhookEventType | undefined {
  switch (status) {
    case "queued":
      return "job.queued";
    case "processing":
      return "job.started";
    case "succeeded":
      return "job.succeeded";
    case "failed":
      return "job.failed";
    case "canceled":
      return "job.canceled";
    case "timed_out":
      return "job.timed_out";
    case "starting":
      return undefined;
  }
}

export const WebhookEventsFilter = z
  .array(WebhookEventType)
  .min(1)
  .max(webhookEventTypes.length)
  .refine((events) => new Set(events).size === events.length, "must not repeat an event type");
