// How work is spread over Durable Objects (docs/architecture.md "Scale"): provider
// sockets over HUB_SHARDS hub objects by a hash of the address, and matching over
// one matchmaker per job class. Pure, so every caller routes the same way.
import type { Resources } from "../../protocol/jobSpec.ts";

/** FNV-1a over the lower-cased address: stable, cheap and evenly spread. */
export function shardOf(address: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (const char of address.toLowerCase()) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

export function hubName(shard: number): string {
  return `hub-${shard}`;
}

/** Matching is sharded by what a job needs: each class is one Matchmaker object. */
export const jobClasses = ["cpu", "gpu"] as const;
export type JobClass = (typeof jobClasses)[number];

export function jobClassOf(resources: Resources): JobClass {
  return resources.gpus > 0 ? "gpu" : "cpu";
}

/** A provider feeds every class it can serve. */
export function classesServedBy(provider: { gpuCount: number }): JobClass[] {
  return provider.gpuCount > 0 ? ["cpu", "gpu"] : ["cpu"];
}
