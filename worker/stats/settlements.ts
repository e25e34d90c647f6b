// Money the network has paid: recent settlements with their transactions, and
// the total. Public, so a settlement shows the provider paid, never the creator.
import { and, desc, eq } from "drizzle-orm";
import { z } from "zod";
import type { Settlement } from "../../protocol/network.ts";
import { explorerTxUrl } from "../config/chains.ts";
import type { Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import { chainEvents, jobs } from "../db/schema.ts";
import { joinWeiSum, weiSumParts } from "./weiSum.ts";

export const RECENT_SETTLEMENTS = 10;

/** The part of an indexed JobSettled event's args a public page may show. */
const SettledArgs = z.object({ provider: z.string(), amount: z.string().regex(/^[0-9]+$/) });

export async function recentSettlements(db: Db, config: Config): Promise<Settlement[]> {
  const rows = await db
    .select({ txHash: chainEvents.txHash, blockNumber: chainEvents.blockNumber, args: chainEvents.args })
    .from(chainEvents)
    .where(eq(chainEvents.name, "JobSettled"))
    .orderBy(desc(chainEvents.blockNumber), desc(chainEvents.logIndex))
    .limit(RECENT_SETTLEMENTS);
  return rows.flatMap((row) => {
    const args = SettledArgs.safeParse(row.args);
    if (!args.success) return [];
    return [{ tx_hash: row.txHash, tx_url: explorerTxUrl(config, row.txHash), block_number: row.blockNumber, provider: args.data.provider.toLowerCase(), amount_wei: args.data.amount }];
  });
}

/** What settled jobs paid their providers: the claims the contract paid out, summed exactly. */
export async function paidOut(db: Db, provider?: string): Promise<bigint> {
  const settled = eq(jobs.settlement, "settled");
  const [parts] = await db
    .select(weiSumParts(jobs.amountWei))
    .from(jobs)
    .where(provider ? and(eq(jobs.provider, provider), settled) : settled);
  return joinWeiSum(parts);
}
