// The public figures of the network, as the API sends them and the dashboard
// reads them: aggregates only, nothing that belongs to one creator.
import { z } from "zod";

const Share = z.object({ total: z.number(), free: z.number() });

export const OnlineProvider = z
  .object({
    address: z.string(),
    gpus: z.array(z.object({ model: z.string(), vram_mb: z.number(), free: z.boolean() })),
    cpus: Share.meta({ description: "CPU cores" }),
    memory_mb: Share,
  })
  .meta({ id: "OnlineProvider" });
export type OnlineProvider = z.infer<typeof OnlineProvider>;

export const GpuModelCapacity = z.object({ model: z.string(), vram_mb: z.number(), total: z.int(), free: z.int() }).meta({ id: "GpuModelCapacity" });
export type GpuModelCapacity = z.infer<typeof GpuModelCapacity>;

export const Settlement = z
  .object({
    tx_hash: z.string(),
    tx_url: z.string().nullable().meta({ description: "The transaction on the chain's explorer; null where the chain has none (anvil)" }),
    block_number: z.int(),
    provider: z.string(),
    amount_wei: z.string(),
  })
  .meta({ id: "Settlement" });
export type Settlement = z.infer<typeof Settlement>;

export const NetworkSummary = z
  .object({
    chain: z.object({ name: z.string(), settles_on_chain: z.boolean() }),
    providers_online: z.int(),
    providers: z.array(OnlineProvider).meta({ description: "Online providers, the largest first (at most 100)" }),
    capacity: z.object({ gpus: Share, cpus: Share, memory_mb: Share }),
    gpu_models: z.array(GpuModelCapacity),
    jobs: z.object({ queued: z.int(), running: z.int() }),
    timings: z
      .object({
        median_match_ms: z.number().nullable(),
        median_finish_ms: z.number().nullable(),
        sample: z.int().meta({ description: "How many recently finished jobs the medians are over" }),
        window_hours: z.int(),
      })
      .meta({ description: "created → assigned, and created → finished, over jobs that ran and finished recently" }),
    paid_out_wei: z.string().meta({ description: "Paid to providers by settled jobs, all time" }),
    recent_settlements: z.array(Settlement),
    generated_at: z.string(),
  })
  .meta({ id: "NetworkSummary" });
export type NetworkSummary = z.infer<typeof NetworkSummary>;

export const ActivityBucket = z.object({
  hour: z.string().meta({ description: "Start of the hour (ISO 8601)" }),
  queued: z.int().meta({ description: "Jobs that entered the queue (new or requeued)" }),
  started: z.int().meta({ description: "Jobs whose container started" }),
  finished: z.int().meta({ description: "Jobs that reached a final status" }),
});
export type ActivityBucket = z.infer<typeof ActivityBucket>;

export const JobActivity = z.object({ hours: z.int(), buckets: z.array(ActivityBucket) }).meta({ id: "JobActivity" });
export type JobActivity = z.infer<typeof JobActivity>;

export const ProviderProfile = z
  .object({
    address: z.string(),
    registered: z.boolean().meta({ description: "Whether the market contract holds stake for this address" }),
    stake_wei: z.string(),
    unbonding_at: z.string().nullable(),
    reputation: z.object({ jobs_settled: z.int(), jobs_challenged: z.int(), jobs_slashed: z.int() }).meta({ description: "Counters the market contract keeps" }),
    jobs: z.object({ running: z.int(), succeeded: z.int(), failed: z.int(), other: z.int() }).meta({ description: "Jobs this provider was given, by outcome" }),
    earnings_wei: z.string().meta({ description: "Paid by this provider's settled jobs" }),
    online: OnlineProvider.nullable(),
  })
  .meta({ id: "ProviderProfile" });
export type ProviderProfile = z.infer<typeof ProviderProfile>;
