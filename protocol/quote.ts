// What a job would meet if created now: who online could run it, what they
// charge, and whether one has room for it at its price. Read, never reserved.
import { z } from "zod";

export const JobQuote = z
  .object({
    providers_online: z.int().meta({ description: "Providers connected now that serve this kind of job (with GPUs or without)" }),
    providers_fit: z.int().meta({ description: "Of those, how many could run the job at all: its GPUs (count, VRAM, model), CPUs and memory, and egress if it names hosts, whether busy or not" }),
    providers_free: z.int().meta({ description: "Of those that fit, how many have room for it now" }),
    providers_within_price: z.int().meta({ description: "Of those that fit, how many charge at most max_price_wei for the whole timeout" }),
    rate_wei_per_second: z
      .object({ lowest: z.string(), highest: z.string() })
      .nullable()
      .meta({ description: "What the providers that fit charge for this job, per second; null when none fits" }),
    offered_rate_wei_per_second: z.string().nullable().meta({
      description:
        "The rate of the provider the matcher would offer the job to now (the one with room holding most of its bytes, then the most reputable, then the cheapest); null when none would be offered it at once",
    }),
    max_cost_wei: z.string().nullable().meta({
      description:
        "The most the job could be charged if created now: that provider's rate over the whole timeout (a job pays for the seconds it runs); null when it would wait, and could then go to any provider within max_price_wei",
    }),
    offered_warm_bytes: z.int().min(0).meta({
      description: "How many of the job's bytes (its image, pinned by digest, and its biggest inputs) the provider it would go to already holds: what it would not have to pull or move; 0 when none, or when it would wait",
    }),
    matches_now: z.boolean().meta({
      description: "Whether a provider that fits, within the price, has room now: the job would be offered at once (the matcher prefers providers holding its image and inputs, then reputation, then price)",
    }),
    detail: z.string().meta({ description: "What the figures mean for this job, in a sentence" }),
  })
  .meta({ id: "JobQuote" });
export type JobQuote = z.infer<typeof JobQuote>;
