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
export type SettlementStatus = z.infer<typeof SettlementStatus>;
