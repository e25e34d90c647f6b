// What a creator may still spend: their escrow as the chain holds it (indexed),
// less what jobs on their way to a reservation will take.
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { chainAccounts, jobs } from "../db/schema.ts";

export interface Escrow {
  balanceWei: bigint;
  reservedWei: bigint;
  /** Reservations sent but not yet seen on chain. */
  reservingWei: bigint;
  availableWei: bigint;
}

/** The two reads an escrow is made of, for a caller that batches them with its own. */
export function escrowReads(db: Db, account: string) {
  return [
    db.select({ balanceWei: chainAccounts.balanceWei, reservedWei: chainAccounts.reservedWei }).from(chainAccounts).where(eq(chainAccounts.address, account)),
    // Only the price, not the whole spec; summed here, since wei outgrow SQLite's integers.
    db
      .select({ priceWei: sql<string>`json_extract(${jobs.spec}, '$.max_price_wei')` })
      .from(jobs)
      .where(and(eq(jobs.account, account), eq(jobs.settlement, "reserving"))),
  ] as const;
}

export function escrowFrom(account: Array<{ balanceWei: string; reservedWei: string }>, reserving: Array<{ priceWei: string }>): Escrow {
  const balanceWei = BigInt(account[0]?.balanceWei ?? "0");
  const reservedWei = BigInt(account[0]?.reservedWei ?? "0");
  const reservingWei = reserving.reduce((sum, job) => sum + BigInt(job.priceWei), 0n);
  const free = balanceWei - reservedWei - reservingWei;
  return { balanceWei, reservedWei, reservingWei, availableWei: free > 0n ? free : 0n };
}

export async function escrowOf(db: Db, account: string): Promise<Escrow> {
  const [row, reserving] = await db.batch(escrowReads(db, account));
  return escrowFrom(row, reserving);
}
