// Mediation on the hub's side: the indexer says a provider was drawn to re-run a
// challenged job; its answer, and only the drawn mediator's, goes to the relayer
// as signed (the contract checks the signature again): a result hash for an exact
// job, a verdict for a tolerant one (protocol/verification.ts).
import type { Address, Hex } from "viem";
import { mediationTypes, verdictTypes } from "../../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type MediationMessage, type VerdictMessage } from "../../protocol/hubMessages.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import { isTolerant } from "../../protocol/verification.ts";
import { relayerOf } from "../bindings/objects.ts";
import { marketDomain } from "../config/chains.ts";
import { isChainConfigured } from "../config/config.ts";
import { providerSpecOf } from "../jobs/inputSources.ts";
import { checkTypedSignature } from "../security/signatures.ts";
import type { HubState } from "./hubState.ts";
import { resumedFromOf, type SavedCheckpoint } from "../../protocol/checkpoint.ts";
import { jobById } from "./jobReads.ts";
import { openJobSecrets, UnopenableSecretsError } from "../security/jobSecrets.ts";
import { send, sendError, socketOf } from "./sockets.ts";

/** Asks the drawn mediator to re-run the job. Returns whether it was asked (it must be connected). */
export async function askToMediate(state: HubState, address: string, jobId: string, chainJobId: string): Promise<boolean> {
  const ws = socketOf(state, address);
  if (!ws) return false;
  const job = await jobById(state.jobContext().db, jobId);
  // Only a succeeded job's result can be challenged: it has outputs.
  if (!job?.output) return false;
  // The re-run needs the secrets the first run had; unopenable, it cannot be the same job, and no mediator is asked.
  const secrets = await openJobSecrets(state.config.secretsKey, job.sealedSecrets).catch((error: unknown) => {
    if (error instanceof UnopenableSecretsError) return null;
    throw error;
  });
  if (secrets === null) return false;
  state.store.drawnAsMediator(jobId, address);
  const checkpoint = resumedFromOf(job.checkpoint as SavedCheckpoint | null, job.attempt);
  send(ws, {
    v: HUB_PROTOCOL_VERSION,
    type: "job.mediate",
    job_id: jobId,
    chain_job_id: chainJobId,
    spec: providerSpecOf(job),
    outputs: job.output as OutputManifest,
    ...secrets,
    ...(checkpoint ? { checkpoint } : {}),
  });
  return true;
}

/** The job a drawn mediator answers for, or undefined once the mediator was told why not. */
async function mediatedJob(state: HubState, ws: WebSocket, address: Address, jobId: string) {
  if (!state.store.isDrawnMediator(jobId, address)) {
    sendError(ws, "not_mediator", `${address} was not drawn to mediate ${jobId}; only the drawn mediator's verdict counts`);
    return undefined;
  }
  if (!isChainConfigured(state.config)) {
    sendError(ws, "no_chain", "this network does not settle on chain: there is no challenge to resolve");
    return undefined;
  }
  const job = await jobById(state.jobContext().db, jobId);
  if (!job?.output) sendError(ws, "bad_mediation", `there is no job ${jobId} with outputs to mediate`);
  return job?.output ? job : undefined;
}

export async function onMediation(state: HubState, ws: WebSocket, address: Address, message: MediationMessage): Promise<void> {
  const job = await mediatedJob(state, ws, address, message.job_id);
  if (!job) return;
  if (isTolerant(job.spec as JobSpec)) return sendError(ws, "bad_mediation", `${message.job_id} declares a tolerant comparison: answer with a job.verdict, not a result hash`);
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

export async function onVerdict(state: HubState, ws: WebSocket, address: Address, message: VerdictMessage): Promise<void> {
  const job = await mediatedJob(state, ws, address, message.job_id);
  if (!job) return;
  if (!isTolerant(job.spec as JobSpec)) return sendError(ws, "bad_mediation", `${message.job_id} is compared exactly: answer with a job.mediation carrying your re-run's result hash`);
  const resultHash = (job.output as OutputManifest).result_hash as Hex;
  const signed = await checkTypedSignature({
    address,
    domain: marketDomain(state.config),
    types: verdictTypes,
    primaryType: "Verdict",
    message: { jobId: job.chainJobId as Hex, resultHash, rerunHash: message.rerun_hash as Hex, upheld: message.upheld },
    signature: message.signature,
  });
  if (!signed.ok) {
    const why = signed.problem === "malformed" ? `its signature is not usable (${signed.reason})` : `it is not signed by ${address} over that job's result`;
    return sendError(ws, "bad_mediation", `the verdict on ${message.job_id} was refused: ${why}`);
  }
  console.info(`hub: ${address} judged ${message.job_id} ${message.upheld ? "upheld" : "rejected"}: ${message.detail}`);
  await relayerOf(state.env, state.config).enqueue([
    { kind: "judge", jobId: message.job_id, chainJobId: job.chainJobId as Hex, payload: { rerunHash: message.rerun_hash as Hex, upheld: message.upheld, signature: signed.signature } },
  ]);
}
