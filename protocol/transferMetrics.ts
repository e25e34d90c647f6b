// How a job's data moved, as the job object reports it (`metrics.transfer`).
import { z } from "zod";

/** "direct": straight between the peers; "turn": peer to peer through a TURN relay; "relay": through the API's R2 store. */
export const TransferRoute = z.enum(["direct", "turn", "relay"]);
export type TransferRoute = z.infer<typeof TransferRoute>;

export const TransferMeasure = z
  .object({
    route: TransferRoute,
    bytes: z.int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ description: "Bytes that moved by this route (a resumed transfer counts only the rest)" }),
    ms: z.number().min(0).max(30 * 24 * 3600 * 1000),
  })
  .meta({ id: "TransferMeasure" });
export type TransferMeasure = z.infer<typeof TransferMeasure>;

export const JobTransferMetrics = z.object({
  inputs: TransferMeasure.nullable().meta({ description: "The provider's fetch of the input files; null when the job has none or it has not happened" }),
  outputs: TransferMeasure.nullable().meta({ description: "The latest download of the outputs: served peer to peer by the provider, or from R2 as the creator reported it" }),
});
export type JobTransferMetrics = z.infer<typeof JobTransferMetrics>;

export const TransferDirection = z.enum(["inputs", "outputs"]);
export type TransferDirection = z.infer<typeof TransferDirection>;
