// Job rows written straight into D1 for the chain tests, in the states the
// API, the hub and the chain would leave them.
import { env } from "cloudflare:test";
import { keccak256, stringToHex, type Hex } from "viem";
import { createDb } from "../../../worker/db/client.ts";
import { accounts, jobs } from "../../../worker/db/schema.ts";
import type { JobRow } from "../../../worker/jobs/serialize.ts";
import type { PaidJob } from "../../../worker/chain/admission.ts";

export const db = createDb(env.DB);
export const CREATOR = "0x00000000000000000000000000000000000000c1";

/** Asks for more than any test host has, so no matchmaker ever offers it. */
export const unmatchableSpec = {
  image: "ghcr.io/pond/example:1.0",
  resources: { gpus: 16, gpu_vram_mb: 262_144, cpus: 256, memory_mb: 2_097_152 },
  timeout_s: 3600,
  max_price_wei: "1000",
};

export async function insertJob(label: string, columns: Partial<typeof jobs.$inferInsert> = {}): Promise<JobRow> {
  const id = `job_${label}_${crypto.randomUUID().replaceAll("-", "")}`;
  await db.insert(accounts).values({ address: CREATOR, webhookSecretEnc: "x" }).onConflictDoNothing();
  const [row] = await db
    .insert(jobs)
    .values({
      id,
      account: CREATOR,
      status: "queued",
      spec: unmatchableSpec,
      chainJobId: keccak256(stringToHex(id)),
      authSignature: `0x${"11".repeat(65)}`,
      authDeadline: 1_900_000_000,
      settlement: "reserving",
      webhookEventsFilter: [],
      createdAt: Date.now(),
      ...columns,
    })
    .returning();
  return row!;
}

/** What a succeeded job carries once the hub took its provider's signed claim. */
export const claimed = (resultHash: Hex = `0x${"ab".repeat(32)}`) => ({
  status: "succeeded",
  output: { files: [], result_hash: resultHash },
  amountWei: "10",
  resultSignature: `0x${"22".repeat(65)}`,
});

/** A paid job as the API hands it to its creator's admission object (worker/chain/admission.ts). */
export function paidJob(account: string, priceWei: bigint, columns: Partial<PaidJob> = {}): PaidJob {
  const id = `job_admit_${crypto.randomUUID().replaceAll("-", "")}`;
  return {
    id,
    account,
    status: "queued",
    spec: { ...unmatchableSpec, max_price_wei: priceWei.toString() },
    chainJobId: keccak256(stringToHex(id)),
    authSignature: `0x${"11".repeat(65)}`,
    authDeadline: 1_900_000_000,
    settlement: "reserving",
    webhook: null,
    webhookEventsFilter: [],
    createdAt: Date.now(),
    ...columns,
  };
}
