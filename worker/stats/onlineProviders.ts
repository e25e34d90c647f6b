// Who is online, as the matchmakers see it: the "cpu" class is fed by every
// provider (bindings/sharding.ts), so its copy lists them all in one call.
import { matchmakerOf } from "../bindings/objects.ts";
import type { ProviderCapacity } from "../matching/matcher.ts";

export function onlineProviders(env: Env): Promise<ProviderCapacity[]> {
  return matchmakerOf(env, "cpu").onlineProviders();
}
