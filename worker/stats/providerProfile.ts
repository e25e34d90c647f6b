// One provider's public record: its stake and the counters the market contract
// keeps (indexed into chain_providers), the jobs it was given, what it earned,
// and what it offers now if it is online.
import { count, eq } from "drizzle-orm";
import type { ProviderProfile } from "../../protocol/network.ts";
import type { Db } from "../db/client.ts";
import { chainProviders, jobs } from "../db/schema.ts";
import type { ProviderCapacity } from "../matching/matcher.ts";
import { toOnlineProvider } from "./capacity.ts";
import { paidOut } from "./settlements.ts";

export async function providerProfile(db: Db, address: string, online: readonly ProviderCapacity[]): Promise<ProviderProfile> {
  const [chainRows, statusRows, earnings] = await Promise.all([
    db.select().from(chainProviders).where(eq(chainProviders.address, address)),
    db.select({ status: jobs.status, n: count() }).from(jobs).where(eq(jobs.provider, address)).groupBy(jobs.status),
    paidOut(db, address),
  ]);
  const chain = chainRows[0];
  const of = (...statuses: string[]) => statusRows.filter((row) => statuses.includes(row.status)).reduce((total, row) => total + row.n, 0);
  const total = of(...statusRows.map((row) => row.status));
  const running = of("starting", "processing");
  const [succeeded, failed] = [of("succeeded"), of("failed")];
  const current = online.find((provider) => provider.address === address);
  return {
    address,
    registered: chain !== undefined && BigInt(chain.stakeWei) > 0n,
    stake_wei: chain?.stakeWei ?? "0",
    unbonding_at: chain?.unbondingAt ? new Date(chain.unbondingAt).toISOString() : null,
    reputation: { jobs_settled: chain?.jobsSettled ?? 0, jobs_challenged: chain?.jobsChallenged ?? 0, jobs_slashed: chain?.jobsSlashed ?? 0 },
    jobs: { running, succeeded, failed, other: total - running - succeeded - failed },
    earnings_wei: earnings.toString(),
    online: current ? toOnlineProvider(current) : null,
  };
}
