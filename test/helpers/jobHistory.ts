// What the API records about a job's past, read the way a creator would: its
// transitions, and the webhook deliveries (with every attempt) to an endpoint.
import { z } from "zod";
import type { PondClient } from "../../sdk/index.ts";

const Transition = z.object({ from: z.string().nullable(), to: z.string(), detail: z.string().nullable(), at: z.string() });
export type Transition = z.infer<typeof Transition>;

const Attempt = z.object({ attempted_at: z.string(), status_code: z.number().nullable(), latency_ms: z.number(), error: z.string().nullable() });
const Delivery = z.object({
  id: z.string(),
  endpoint_id: z.string(),
  event_type: z.string(),
  job_id: z.string().nullable(),
  state: z.enum(["pending", "delivered", "retrying", "dead", "disabled"]),
  attempts: z.array(Attempt),
  created_at: z.string(),
  next_attempt_at: z.string().nullable(),
});
export type Delivery = z.infer<typeof Delivery>;

export async function transitionsOf(client: PondClient, jobId: string): Promise<Transition[]> {
  return z.object({ results: z.array(Transition) }).parse(await client.request("GET", `/v1/jobs/${jobId}/transitions`)).results;
}

/** Deliveries to an endpoint (`default`: jobs' own webhook URLs), oldest first. */
export async function deliveriesTo(client: PondClient, endpointId: string): Promise<Delivery[]> {
  const page = z.object({ results: z.array(Delivery) }).parse(await client.request("GET", `/v1/webhooks/${endpointId}/deliveries?limit=100`));
  return page.results.reverse();
}
