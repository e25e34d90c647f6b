// The network page's figures, gathered in parallel from D1 and the matchmaker.
import type { NetworkSummary } from "../../protocol/network.ts";
import { isChainConfigured, type Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import { summarizeCapacity } from "./capacity.ts";
import { jobsNow, recentTimings } from "./jobActivity.ts";
import { onlineProviders } from "./onlineProviders.ts";
import { paidOut, recentSettlements } from "./settlements.ts";

export async function networkSummary(env: Env, db: Db, config: Config, now: number): Promise<NetworkSummary> {
  const [providers, jobs, timings, paid, settlements] = await Promise.all([
    onlineProviders(env),
    jobsNow(db),
    recentTimings(db, now),
    paidOut(db),
    recentSettlements(db, config),
  ]);
  const capacity = summarizeCapacity(providers);
  return {
    chain: { name: config.chain.name, settles_on_chain: isChainConfigured(config) },
    providers_online: capacity.providersOnline,
    providers: capacity.providers,
    capacity: capacity.capacity,
    gpu_models: capacity.gpuModels,
    jobs,
    timings,
    paid_out_wei: paid.toString(),
    recent_settlements: settlements,
    generated_at: new Date(now).toISOString(),
  };
}
