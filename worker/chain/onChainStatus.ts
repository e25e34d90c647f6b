// The market contract's job status enum and what each means for a job's
// `settlement`. Pure; read by the indexer and the relayer's revert checks.
import type { SettlementStatus } from "../../protocol/jobStatus.ts";

/** The contract's JobStatus enum (contracts/src/PondTypes.sol), in order. */
export const onChainStatuses = ["none", "reserved", "reported", "challenged", "settled", "released", "refunded"] as const;

export function settlementFor(onChain: number): SettlementStatus | undefined {
  switch (onChainStatuses[onChain]) {
    case "reserved":
    case "reported":
      return "pending";
    case "challenged":
      return "challenged";
    case "settled":
      return "settled";
    case "released":
    case "refunded":
      return "refunded";
    default:
      return undefined;
  }
}
