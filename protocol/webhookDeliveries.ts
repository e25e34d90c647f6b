// Webhook endpoints and their deliveries, as the API lists them and the
// dashboard shows them (secrets are never part of these).
import { z } from "zod";
import { WebhookEventType } from "./webhookEvents.ts";

export const WebhookEndpoint = z
  .object({ id: z.string(), url: z.string(), events: z.array(WebhookEventType), created_at: z.string(), disabled_at: z.string().nullable(), disabled_reason: z.string().nullable() })
  .meta({ id: "WebhookEndpoint" });
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

export const deliveryStates = ["pending", "delivered", "retrying", "dead", "disabled"] as const;

export const WebhookAttempt = z.object({ attempted_at: z.string(), status_code: z.int().nullable(), latency_ms: z.int(), error: z.string().nullable() });

export const WebhookDelivery = z
  .object({
    id: z.string().meta({ description: "Also the webhook-id header" }),
    endpoint_id: z.string(),
    url: z.string(),
    event_type: z.string(),
    job_id: z.string().nullable(),
    state: z.enum(deliveryStates),
    attempts: z.array(WebhookAttempt),
    created_at: z.string(),
    next_attempt_at: z.string().nullable(),
  })
  .meta({ id: "WebhookDelivery" });
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/** Deliveries for jobs' own `webhook` URLs are listed under this endpoint id. */
export const DEFAULT_ENDPOINT = "default";
