// How a job's data moved, in the lines `pond run` prints after it.
import type { TransferMeasure } from "../../protocol/transferMetrics.ts";

const ROUTES: Record<TransferMeasure["route"], string> = {
  direct: "peer to peer, direct",
  turn: "peer to peer, through TURN",
  relay: "through the API's relay (R2)",
  cache: "already in the provider's cache",
  outputs: "from the source job's outputs (R2), not through this machine",
};

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function describeTransfer(what: string, measure: TransferMeasure & { firstByteMs?: number }): string {
  const rate = measure.ms > 0 ? `, ${(measure.bytes / 1024 / 1024 / (measure.ms / 1000)).toFixed(1)} MiB/s` : "";
  const first = measure.firstByteMs !== undefined ? `; first byte ${Math.round(measure.firstByteMs)} ms after the job ended` : "";
  return `  ${what}: ${ROUTES[measure.route]}, ${mib(measure.bytes)} in ${Math.round(measure.ms)} ms${rate}${first}`;
}

export function howDataMoved(inputs: TransferMeasure | null, outputs: (TransferMeasure & { firstByteMs?: number }) | null): string[] {
  return [...(inputs ? [describeTransfer("inputs", inputs)] : []), ...(outputs ? [describeTransfer("outputs", outputs)] : [])];
}
