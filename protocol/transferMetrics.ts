// How a job's data moved, as the job object reports it (`metrics.transfer`).
import { z } from "zod";

/**
 * "direct": straight between the peers; "turn": peer to peer through a TURN relay; "relay": through the API's R2 store;
 * "cache": every file was already in the provider's input cache, so no byte moved;
 * "outputs": from an earlier job's outputs in the API's R2 store, by the new job's provider (inputs that name
 * that job's output: the creator is not on the path). A fetch with files by two routes reports the one that moved more bytes.
 */
export const TransferRoute = z.enum(["direct", "turn", "relay", "cache", "outputs"]);
export type TransferRoute = z.infer<typeof TransferRoute>;

export const TransferMeasure = z
  .object({
    route: TransferRoute,
    bytes: z.int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ description: "Bytes that moved by this route (a resumed transfer counts only the rest)" }),
    ms: z.number().min(0).max(30 * 24 * 3600 * 1000),
    cached_bytes: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional().meta({ description: "Bytes of the input files the provider already held in its cache (they did not move); absent when none" }),
  })
  .meta({ id: "TransferMeasure" });
export type TransferMeasure = z.infer<typeof TransferMeasure>;

/** How the job's image came to the provider's engine. */
export const ImageArrival = z
  .object({
    warm: z.boolean().meta({ description: "Whether the image was already in the provider's engine before the job (nothing pulled)" }),
    ms: z.number().min(0).max(30 * 24 * 3600 * 1000).meta({ description: "How long the provider took to have the image ready (its pull, when not warm)" }),
  })
  .meta({ id: "ImageArrival" });
export type ImageArrival = z.infer<typeof ImageArrival>;

export const JobTransferMetrics = z.object({
  inputs: TransferMeasure.nullable().meta({ description: "The provider's fetch of the input files; null when the job has none or it has not happened" }),
  outputs: TransferMeasure.nullable().meta({ description: "The latest download of the outputs: served peer to peer by the provider, or from R2 as the creator reported it" }),
  image: ImageArrival.optional().meta({ description: "Whether the image was warm on the provider; absent until the provider reported it" }),
});
export type JobTransferMetrics = z.infer<typeof JobTransferMetrics>;

export const TransferDirection = z.enum(["inputs", "outputs"]);
export type TransferDirection = z.infer<typeof TransferDirection>;
