// The provider's side of signaling: its signals for a job go to the job's
// rendezvous, stamped with the role it holds there (the assigned provider, or a
// drawn mediator; anyone else is told the job is not theirs), signals for it come
// back over its socket, and it asks here for STUN/TURN servers.
import type { Address } from "viem";
import { HUB_PROTOCOL_VERSION, type HubMessage } from "../../protocol/hubMessages.ts";
import type { ClientSignal, ServerSignal } from "../../protocol/signaling.ts";
import { rendezvousOf } from "../bindings/objects.ts";
import { iceServersFor, IceServersUnavailable } from "../signaling/iceServers.ts";
import type { HubState } from "./hubState.ts";
import { jobById } from "./jobReads.ts";
import { send, sendError, sendTo } from "./sockets.ts";

export async function onSignal(state: HubState, ws: WebSocket, address: Address, jobId: string, signal: ClientSignal): Promise<void> {
  const job = await jobById(state.jobContext().db, jobId);
  const role = job?.provider === address ? "provider" : state.store.isDrawnMediator(jobId, address) ? "mediator" : undefined;
  if (!role) return sendError(ws, "not_found", `job ${jobId} was not found among yours: only its provider and a drawn mediator may signal for it`);
  await rendezvousOf(state.env, jobId).relayFromHub(jobId, role, address, signal);
}

/** A rendezvous has a signal for this provider: sent if its socket is here. */
export function deliverSignal(state: HubState, address: string, jobId: string, signal: ServerSignal): boolean {
  return sendTo(state, address, { v: HUB_PROTOCOL_VERSION, type: "signal", job_id: jobId, signal } satisfies HubMessage);
}

export async function onIceRequest(state: HubState, ws: WebSocket, address: Address): Promise<void> {
  try {
    const servers = await iceServersFor(state.config, address);
    send(ws, { v: HUB_PROTOCOL_VERSION, type: "ice.servers", ...servers });
  } catch (error) {
    if (!(error instanceof IceServersUnavailable)) throw error;
    sendError(ws, "ice_unavailable", error.message);
  }
}
