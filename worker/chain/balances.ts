// What a creator may still spend: their escrow as the chain holds it (indexed),
// less what jobs on their way to a reservation will take.
import { and, eq } from "drizzle-orm";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { Db } from "../db/client.ts";
import { chainAccounts, jobs } from "../db/schema.ts";

export interface Escrow {
  balanceWei: bigint;
  reservedWei: bigint;
  /** Reservations sent but not yet seen on chain. */
  reservingWei: bigint;
  availableWei: bigint;
}

export async function escrowOf(db: Db, account: string): Promise<Escrow> {
  const [row, reserving] = await db.batch([
    db.select().from(chainAccounts).where(eq(chainAccounts.address, account)),
    db.select({ spec: jobs.spec }).from(jobs).where(and(eq(jobs.account, account), eq(jobs.settlement, "reserving"))),
  ]);
  const balanceWei = BigInt(row[0]?.balanceWei ?? "0");
  const reservedWei = BigInt(row[0]?.reservedWei ?? "0");
  const reservingWei = reserving.reduce((sum, job) => sum + BigInt((job.spec as JobSpec).max_price_wei), 0n);
  const free = balanceWei - reservedWei - reservingWei;
  return { balanceWei, reservedWei, reservingWei, availableWei: free > 0n ? free : 0n };
}
