// Provider sockets are spread over HUB_SHARDS hub objects by a hash of the
// provider's address (DESIGN.md "Scale"), so no object holds them all.
import type { Config } from "../config.ts";
import type { Env } from "../env.ts";

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

export function hubFor(env: Env, config: Config, address: string) {
  return env.HUB.get(env.HUB.idFromName(hubName(shardOf(address, config.hubShards))));
}
