// Writes how a job's files moved (the job's `metrics.transfer`), one part at a
// time, in one statement: a report for the inputs never clobbers one for the
// outputs that lands at the same moment.
import { sql, type SQL } from "drizzle-orm";
import type { ImageArrival, TransferDirection, TransferMeasure } from "../../protocol/transferMetrics.ts";
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

export interface ResultArrival {
  inputs_transfer?: TransferMeasure;
  image?: ImageArrival;
}

/**
 * What a provider's result says of how the job's inputs and image came (warm or not), as the value of
 * the job's transfer_metrics column, for the result's own transition to write (transitions.ts); undefined when it says nothing.
 */
export function withArrival(metrics: ResultArrival): SQL | undefined {
  const parts = [
    ...(metrics.inputs_transfer ? [sql`${"$.inputs"}, json(${JSON.stringify(metrics.inputs_transfer)})`] : []),
    ...(metrics.image ? [sql`${"$.image"}, json(${JSON.stringify(metrics.image)})`] : []),
  ];
  if (parts.length === 0) return undefined;
  return sql`json_set(coalesce(${jobs.transferMetrics}, ${EMPTY}), ${sql.join(parts, sql`, `)})`;
}
