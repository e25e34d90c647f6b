// Writes how a job's files moved (the job's `metrics.transfer`), one direction
// at a time, in one statement: a report for the inputs never clobbers one for
// the outputs that lands at the same moment.
import { sql } from "drizzle-orm";
import type { TransferDirection, TransferMeasure } from "../../protocol/transferMetrics.ts";
import type { Db } from "../db/client.ts";
import { jobs } from "../db/schema.ts";

const EMPTY = JSON.stringify({ inputs: null, outputs: null });

export async function recordTransfer(db: Db, jobId: string, direction: TransferDirection, measure: TransferMeasure): Promise<void> {
  const path = direction === "inputs" ? "$.inputs" : "$.outputs";
  await db
    .update(jobs)
    .set({ transferMetrics: sql`json_set(coalesce(${jobs.transferMetrics}, ${EMPTY}), ${path}, json(${JSON.stringify(measure)}))` })
    .where(sql`${jobs.id} = ${jobId}`);
}
