// The provider's side of signaling: its signals for a job go to the job's
// rendezvous, stamped with the role it holds there (the assigned provider, a
// drawn mediator, or the provider of a later job that takes the job's outputs as
// inputs; anyone else is told the job is not theirs), signals for it come back
// over its socket, and it asks here for STUN/TURN servers.
import type { Address } from "viem";
import { HUB_PROTOCOL_VERSION, type HubMessage } from "../../protocol/hubMessages.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { consumerRole, MAX_CONSUMED_OUTPUTS, signalErrorAbout, type ClientSignal, type ServerSignal } from "../../protocol/signaling.ts";
import { rendezvousOf } from "../bindings/objects.ts";
import type { JobPeer } from "../signaling/rendezvous.ts";
import { iceServersFor, IceServersUnavailable } from "../signaling/iceServers.ts";
import type { HubState } from "./hubState.ts";
import { jobById } from "./jobReads.ts";
import { send, sendError, sendTo } from "./sockets.ts";

type HubSidePeer = Exclude<JobPeer, "creator">;

export async function onSignal(state: HubState, ws: WebSocket, address: Address, jobId: string, signal: ClientSignal, forJob?: string): Promise<void> {
  const as = forJob === undefined ? await roleIn(state, address, jobId) : await consumerIn(state, address, jobId, forJob);
  if ("refusal" in as) {
    sendError(ws, "not_found", as.refusal);
    // A consumer's transfer hears it too, as a signal for its peer that came back: it goes to R2 now, not after its connect timeout.
    if (forJob !== undefined) send(ws, { v: HUB_PROTOCOL_VERSION, type: "signal", job_id: jobId, signal: signalErrorAbout("unknown_peer", as.refusal, signal) });
    return;
  }
  await rendezvousOf(state.env, jobId).relayFromHub(jobId, as.role, address, signal, as.consumed);
}

type Admitted = { role: HubSidePeer; consumed?: string[] } | { refusal: string };

/** The provider's role in its job's rendezvous: the assigned provider, or a drawn mediator. */
async function roleIn(state: HubState, address: Address, jobId: string): Promise<Admitted> {
  const job = await jobById(state.jobContext().db, jobId);
  if (job?.provider === address) return { role: "provider" };
  if (state.store.isDrawnMediator(jobId, address)) return { role: "mediator" };
  return { refusal: `job ${jobId} was not found among yours: only its provider and a drawn mediator may signal for it` };
}

/**
 * A pipeline's next job fetching its inputs from `sourceJobId`'s provider: allowed to the provider
 * `forJob` is assigned to, while it runs, when its inputs name `sourceJobId`'s outputs; those outputs
 * (at most MAX_CONSUMED_OUTPUTS) are what its offers are stamped with, and all it is served.
 */
async function consumerIn(state: HubState, address: Address, sourceJobId: string, forJob: string): Promise<Admitted> {
  const job = await jobById(state.jobContext().db, forJob);
  const role = consumerRole(forJob);
  const held = job?.provider === address && (job.status === "starting" || job.status === "processing");
  const consumed = held ? [...new Set(((job.spec as JobSpec).input_files ?? []).flatMap((file) => (file.from?.job === sourceJobId ? [file.from.output] : [])))] : [];
  if (!role || consumed.length === 0) {
    return { refusal: `job ${forJob} was not found among yours with inputs from ${sourceJobId}: only the provider running a job may fetch its inputs from their source job's provider` };
  }
  if (consumed.length > MAX_CONSUMED_OUTPUTS) return { refusal: `job ${forJob} takes ${consumed.length} of ${sourceJobId}'s outputs; more than ${MAX_CONSUMED_OUTPUTS} are fetched from R2` };
  return { role, consumed };
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
