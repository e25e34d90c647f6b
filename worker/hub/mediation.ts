// Mediation on the hub's side: the indexer says a provider was drawn to re-run a
// challenged job; its verdict, and only the drawn mediator's, goes to the relayer
// as signed (the contract checks the signature again).
import type { Address, Hex } from "viem";
import { mediationTypes } from "../../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type MediationMessage } from "../../protocol/hubMessages.ts";
import { relayerOf } from "../bindings/objects.ts";
import { marketDomain } from "../config/chains.ts";
import { isChainConfigured } from "../config/config.ts";
import { providerSpecOf } from "../jobs/inputSources.ts";
import { checkTypedSignature } from "../security/signatures.ts";
import type { HubState } from "./hubState.ts";
import { jobById } from "./jobReads.ts";
import { send, sendError, socketOf } from "./sockets.ts";

/** Asks the drawn mediator to re-run the job. Returns whether it was asked (it must be connected). */
export async function askToMediate(state: HubState, address: string, jobId: string, chainJobId: string): Promise<boolean> {
  const ws = socketOf(state, address);
  if (!ws) return false;
  const job = await jobById(state.jobContext().db, jobId);
  if (!job) return false;
  state.store.drawnAsMediator(jobId, address);
  send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.mediate", job_id: jobId, chain_job_id: chainJobId, spec: providerSpecOf(job) });
  return true;
}

export async function onMediation(state: HubState, ws: WebSocket, address: Address, message: MediationMessage): Promise<void> {
  if (!state.store.isDrawnMediator(message.job_id, address)) {
    return sendError(ws, "not_mediator", `${address} was not drawn to mediate ${message.job_id}; only the drawn mediator's verdict counts`);
  }
  if (!isChainConfigured(state.config)) return sendError(ws, "no_chain", "this network does not settle on chain: there is no challenge to resolve");
  const job = await jobById(state.jobContext().db, message.job_id);
  if (!job) return sendError(ws, "bad_mediation", `there is no job ${message.job_id} to mediate`);
  const signed = await checkTypedSignature({
    address,
    domain: marketDomain(state.config),
    types: mediationTypes,
    primaryType: "Mediation",
    message: { jobId: job.chainJobId as Hex, resultHash: message.result_hash as Hex },
    signature: message.signature,
  });
  if (!signed.ok) {
    const why = signed.problem === "malformed" ? `its signature is not usable (${signed.reason})` : `it is not signed by ${address} over that job`;
    return sendError(ws, "bad_mediation", `the mediation of ${message.job_id} was refused: ${why}`);
  }
  // The canonical signature: resolveChallenge recovers it with OpenZeppelin's ECDSA, which refuses a high s.
  await relayerOf(state.env, state.config).enqueue([
    { kind: "resolve", jobId: message.job_id, chainJobId: job.chainJobId as Hex, payload: { resultHash: message.result_hash as Hex, signature: signed.signature } },
  ]);
}
