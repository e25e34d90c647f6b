// The offer lifecycle: a matchmaker proposes, the hub reserves capacity (the
// only place that can, so nothing is over-committed) and offers; the provider
// accepts with a signature (the job starts), declines, or lets it expire.
import type { Address, Hex } from "viem";
import { jobAcceptanceTypes } from "../../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type StartMessage } from "../../protocol/hubMessages.ts";
import type { SavedCheckpoint } from "../../protocol/checkpoint.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { marketDomain } from "../config/chains.ts";
import { announcingBeside } from "../jobs/announce.ts";
import { lostTheRace, transitionJob } from "../jobs/transitions.ts";
import type { Assignment } from "../matching/matcher.ts";
import { capacityOf, reservationFits } from "./capacity.ts";
import { alarmNoLaterThan, type HubState } from "./hubState.ts";
import type { JobRow } from "../jobs/serialize.ts";
import { jobToOffer } from "./jobReads.ts";
import { UnopenableSecretsError } from "../security/jobSecrets.ts";
import { startMessage } from "./jobSecrets.ts";
import { publishCapacity, resolveOffer } from "./matchmakers.ts";
import { unregisteredReason } from "./registration.ts";
import { send, sendError, sendTo, socketOf } from "./sockets.ts";
import { checkTypedSignature } from "../security/signatures.ts";

export type OfferOutcome = { ok: true } | { ok: false; reason: string; jobGone?: boolean; providerGone?: boolean };

/** A matchmaker proposes a job for a provider here. Reserve, or say why not. */
export async function offerJob(state: HubState, assignment: Assignment): Promise<OfferOutcome> {
  const { store } = state;
  const address = assignment.provider as Address;
  const provider = store.provider(address);
  const ws = socketOf(state, address);
  if (!provider?.connected || !provider.resources || !provider.pricing || !ws) {
    return { ok: false, reason: "the provider is not connected", providerGone: true };
  }
  const job = await jobToOffer(state.jobContext().db, assignment.jobId);
  if (!job || job.status !== "queued") return { ok: false, reason: "the job is no longer queued", jobGone: true };
  // Never offer work that might not be paid for; the indexer queues it again once its reservation is on chain.
  if (job.settlement === "reserving") return { ok: false, reason: "the job's escrow reservation is not on chain yet", jobGone: true };
  // A provider whose stake fell away since it connected (slashed, unbonded) can no longer be paid.
  const unregistered = await unregisteredReason(state.env, state.config, address);
  if (unregistered) {
    sendError(ws, "not_registered", unregistered);
    return { ok: false, reason: unregistered, providerGone: true };
  }

  // From here to reserve() nothing awaits: offers running side by side all see each other's reservations.
  if (store.reservation(assignment.jobId)) return { ok: false, reason: "the job is already offered here", jobGone: true };
  const current = store.provider(address);
  if (!current?.connected || !current.resources || !current.pricing) return { ok: false, reason: "the provider is not connected", providerGone: true };
  const wanted = { jobId: assignment.jobId, gpuUuids: assignment.gpuUuids, milliCpus: assignment.milliCpus, memoryMb: assignment.memoryMb };
  const capacity = capacityOf(address, current.resources, current.pricing, current.reputation, store.reservationsOf(address));
  const misfit = reservationFits(capacity, wanted);
  if (misfit) {
    await publishCapacity(state, address); // the matchmaker's copy is stale: refresh it
    return { ok: false, reason: misfit };
  }

  const expiresAt = Date.now() + state.config.matching.offerTimeoutMs;
  store.reserve({
    ...wanted,
    address,
    state: "offered",
    offerExpiresAt: expiresAt,
    rateWeiPerSecond: assignment.rateWeiPerSecond.toString(),
    maxAmountWei: assignment.maxAmountWei.toString(),
    chainJobId: job.chainJobId,
  });
  store.heldJobs.keep(job);
  const spec = job.spec as JobSpec;
  const checkpoint = spec.checkpoint && job.checkpoint ? (job.checkpoint as SavedCheckpoint) : undefined;
  send(ws, {
    v: HUB_PROTOCOL_VERSION,
    type: "job.offer",
    job_id: assignment.jobId,
    chain_job_id: job.chainJobId,
    spec,
    gpu_uuids: assignment.gpuUuids,
    rate_wei_per_second: assignment.rateWeiPerSecond.toString(),
    max_amount_wei: assignment.maxAmountWei.toString(),
    expires_at: expiresAt,
    ...(checkpoint ? { checkpoint } : {}),
  });
  await alarmNoLaterThan(state, expiresAt);
  // Published before answering, so the matchmaker's next round sees the reservation.
  await publishCapacity(state, address);
  return { ok: true };
}

export async function onAccept(state: HubState, ws: WebSocket, address: Address, jobId: string, signature: Hex): Promise<void> {
  const reservation = state.store.reservation(jobId);
  if (!reservation || reservation.address !== address || reservation.state !== "offered") {
    return sendError(ws, "no_offer", `there is no open offer of job ${jobId} to you`);
  }
  const signed = await checkTypedSignature({
    address,
    domain: marketDomain(state.config),
    types: jobAcceptanceTypes,
    primaryType: "JobAcceptance",
    message: { jobId: reservation.chainJobId as Hex, maxAmount: BigInt(reservation.maxAmountWei) },
    signature,
  });
  if (!signed.ok) {
    const why = signed.problem === "malformed" ? `its signature is not usable (${signed.reason})` : `it is not signed by ${address}`;
    sendError(ws, "bad_signature", `the acceptance of ${jobId} was refused: ${why}; treated as a decline`);
    // The error names no job the daemon could match: without the cancel it would hold the job (its capacity, its folder) until it reconnects.
    send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.cancel", job_id: jobId, reason: `its acceptance was refused: ${why}` });
    return onDecline(state, address, jobId, "declined");
  }
  state.store.markAccepted(jobId);
  const announcing = announcingBeside(state.jobContext());
  let started: JobRow;
  try {
    started = await state.store.fromHeldCopy(jobId, (seen) =>
      transitionJob(
        announcing.ctx,
        jobId,
        "starting",
        {
          provider: address,
          statusDetail: "assigned; the provider is pulling the image",
          agreement: { rateWeiPerSecond: reservation.rateWeiPerSecond, maxAmountWei: reservation.maxAmountWei },
        },
        "hub",
        {},
        seen,
      ),
    );
  } catch (error) {
    if (!lostTheRace(error)) throw error;
    // Canceled (or taken) while the offer was out.
    return withdrawAccepted(state, ws, address, jobId, "the job is no longer queued");
  }
  let start: StartMessage;
  try {
    start = await startMessage(state.config.secretsKey, jobId, started.sealedSecrets);
  } catch (error) {
    if (!(error instanceof UnopenableSecretsError)) throw error;
    // Run without them it would not be the job its creator asked for: it fails, saying why.
    await transitionJob(announcing.ctx, jobId, "failed", { error: error.message }, "hub").catch((failing: unknown) => {
      if (!lostTheRace(failing)) throw failing;
    });
    await announcing.settled();
    return withdrawAccepted(state, ws, address, jobId, error.message);
  }
  send(ws, start);
  await announcing.settled();
  await resolveOffer(state, jobId, address, "accepted");
}

/** An accepted job that will not start here after all: the provider lets it go, and its capacity is free again. */
async function withdrawAccepted(state: HubState, ws: WebSocket, address: Address, jobId: string, reason: string): Promise<void> {
  state.store.release(jobId);
  send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.cancel", job_id: jobId, reason });
  await resolveOffer(state, jobId, address, "gone");
  await publishCapacity(state, address);
}

/** The provider declined the offer (for good, or "busy": for now) or let it expire: its room is free again. */
export async function onDecline(state: HubState, address: Address, jobId: string, outcome: "declined" | "busy" | "expired"): Promise<void> {
  const reservation = state.store.reservation(jobId);
  if (!reservation || reservation.address !== address || reservation.state !== "offered") return;
  state.store.release(jobId);
  await resolveOffer(state, jobId, address, outcome);
  await publishCapacity(state, address);
}

/** Offers past their deadline: withdrawn from the provider, and the next one gets a turn. */
export async function expireOffers(state: HubState, now: number): Promise<void> {
  for (const offer of state.store.expiredOffers(now)) {
    sendTo(state, offer.address, { v: HUB_PROTOCOL_VERSION, type: "job.cancel", job_id: offer.jobId, reason: "the offer expired" });
    await onDecline(state, offer.address as Address, offer.jobId, "expired");
  }
}
