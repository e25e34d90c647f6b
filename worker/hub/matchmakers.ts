// What the hub tells the matchmakers: a provider's free capacity (the hub is its
// one authority, they keep copies), what it holds warm, how an offer ended, and a
// provider leaving. Warm sets go only to the matchmakers that serve the provider,
// and only when the provider says them: never broadcast, never with every capacity change.
import type { Address } from "viem";
import type { WarmSet } from "../../protocol/hubMessages.ts";
import { matchmakerOf } from "../bindings/objects.ts";
import { classesServedBy, jobClasses } from "../bindings/sharding.ts";
import type { OfferResolution } from "../matching/matchStore.ts";
import { capacityOf } from "./capacity.ts";
import type { HubState } from "./hubState.ts";

/** The provider's capacity now; with `warm` when it just (re)advertised what it holds. */
export async function publishCapacity(state: HubState, address: Address, warm?: WarmSet): Promise<void> {
  const provider = state.store.provider(address);
  if (!provider?.connected || !provider.resources || !provider.pricing) return;
  const capacity = capacityOf(address, provider.resources, provider.pricing, provider.reputation, state.store.reservationsOf(address));
  const served = classesServedBy({ gpuCount: provider.resources.gpus.length });
  await Promise.all(served.map((jobClass) => matchmakerOf(state.env, jobClass).upsertProvider(capacity, warm)));
}

/** What a connected provider holds warm changed: the matchmakers that serve it index the new set. */
export async function publishWarm(state: HubState, address: Address, warm: WarmSet): Promise<void> {
  const provider = state.store.provider(address);
  if (!provider?.connected || !provider.resources) return;
  const served = classesServedBy({ gpuCount: provider.resources.gpus.length });
  await Promise.all(served.map((jobClass) => matchmakerOf(state.env, jobClass).setWarm(address, warm)));
}

/** The matchmaker that made the offer acts; the others know no such job. */
export async function resolveOffer(state: HubState, jobId: string, address: string, outcome: OfferResolution): Promise<void> {
  await Promise.all(jobClasses.map((jobClass) => matchmakerOf(state.env, jobClass).offerResolved(jobId, address, outcome)));
}

export async function withdrawProvider(state: HubState, address: Address): Promise<void> {
  await Promise.all(jobClasses.map((jobClass) => matchmakerOf(state.env, jobClass).removeProvider(address)));
}
