import { z } from "zod";

export const jobStatuses = [
  "queued",
  "starting",
  "processing",
  "succeeded",
  "failed",
  "canceled",
  "timed_out",
] as const;
export const JobStatus = z.enum(jobStatuses);
export type JobStatus = z.infer<typeof JobStatus>;

export const terminalStatuses = ["succeeded", "failed", "canceled", "timed_out"] as const satisfies readonly JobStatus[];
export type TerminalStatus = (typeof terminalStatuses)[number];

export function isTerminal(status: JobStatus): status is TerminalStatus {
  return (terminalStatuses as readonly JobStatus[]).includes(status);
}

/**
 * Settlement runs beside the status, driven by chain events: `none` (not
 * settled on chain), `reserving` (escrow reservation sent), `pending`
 * (reserved; result and payment to come), `challenged`, `settled` (provider
 * paid), `refunded` (reservation released), `unfunded` (the reservation
 * could not be made).
 */
export const settlementStatuses = ["none", "reserving", "pending", "challenged", "settled", "refunded", "unfunded"] as const;
export const SettlementStatus = z.enum(settlementStatuses);

/** Settlements that are over: no result can be challenged and no mediator drawn any more. */
export const finalSettlements = ["none", "settled", "refunded", "unfunded"] as const satisfies readonly (typeof settlementStatuses)[number][];

/** Whether a job can no longer need its inputs: it ended, and nothing on chain can call for a mediator. */
export function inputsNoLongerNeeded(job: { status: JobStatus; settlement: SettlementStatus }): boolean {
  return isTerminal(job.status) && (finalSettlements as readonly SettlementStatus[]).includes(job.settlement);
}
export type SettlementStatus = z.infer<typeof SettlementStatus>;
