// A creator, a provider of its own, and a job of the creator's that the provider
// accepted, through the real API and hub: for tests about what happens next.
import { expect } from "vitest";
import { HUB_PROTOCOL_VERSION, type OfferMessage } from "../../protocol/hubMessages.ts";
import type { Job } from "../../protocol/job.ts";
import { eventually } from "../helpers/eventually.ts";
import { post, signIn } from "./client.ts";
import { jobOf } from "./jobReads.ts";
import { connectProvider, type TestProvider } from "./providerSocket.ts";

/**
 * Hosts bigger than any other test's and priced beyond their jobs' budgets, each
 * sized for its one job: jobs of other tests never land here, nor these elsewhere.
 * A random start, so two test files using it never size two hosts alike.
 */
let nextCpus = 100 + Math.floor(Math.random() * 400) / 8;
export const uniqueCpus = () => (nextCpus += 0.125);
export const EXPENSIVE = { cpu_second_wei: "100000000000000" };
/** A job too big for any other test's host, with the budget for an EXPENSIVE one. */
export const specFor = (cpus: number) => ({ image: "ghcr.io/pond/example:1.0", resources: { gpus: 0, cpus, memory_mb: 512 }, timeout_s: 60, max_price_wei: "1000000000000000000000" });

export async function assignedJob(): Promise<{ key: string; provider: TestProvider; offer: OfferMessage; job: Job }> {
  const { key } = await signIn();
  return { key, ...(await runningJob(key)) };
}

/** A provider of its own, sized so only this test's jobs (specFor(cpus)) fit it. */
export async function ownProvider(): Promise<{ provider: TestProvider; cpus: number }> {
  const cpus = uniqueCpus();
  return { provider: await connectProvider({ resources: { cpus }, pricing: EXPENSIVE }), cpus };
}

/** A job of `key`'s, taken by a provider of its own: running, to be ended by the test. */
export async function runningJob(key: string): Promise<{ provider: TestProvider; offer: OfferMessage; job: Job }> {
  const { provider, cpus } = await ownProvider();
  const response = await post("/v1/jobs", specFor(cpus), { key });
  expect(response.status).toBe(201);
  const job = (await response.json()) as Job;
  const offer = await provider.next("job.offer");
  expect(offer.job_id).toBe(job.id);
  await provider.accept(offer);
  return { provider, offer, job };
}

/** A job its provider has started, as the hub's copy has it ("processing"). */
export async function processingJob(): Promise<Awaited<ReturnType<typeof assignedJob>>> {
  const assigned = await assignedJob();
  const { key, provider, offer } = assigned;
  provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: offer.job_id, phase: "running" });
  await eventually(async () => expect((await jobOf(key, offer.job_id)).status).toBe("processing"));
  return assigned;
}
