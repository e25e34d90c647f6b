// A provider's report of a transfer it took part in: the outputs it served
// peer to peer after the job ended. Only the job's provider may report.
import type { Address } from "viem";
import type { TransferReportMessage } from "../../protocol/hubMessages.ts";
import { recordTransfer } from "../jobs/transferMetrics.ts";
import type { HubState } from "./hubState.ts";
import { jobById } from "./jobReads.ts";
import { sendError } from "./sockets.ts";

export async function onTransferReport(state: HubState, ws: WebSocket, address: Address, report: TransferReportMessage): Promise<void> {
  const db = state.jobContext().db;
  const job = await jobById(db, report.job_id);
  if (job?.provider !== address) return sendError(ws, "not_found", `job ${report.job_id} was not found among yours`);
  await recordTransfer(db, report.job_id, report.direction, report.transfer);
}
