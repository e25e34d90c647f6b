// Providers coming and going: what a (re)connecting provider's advertisement
// means, sockets that close or go silent, and a provider gone past the grace
// period, whose jobs are requeued or failed (providerLoss.ts).
import type { Address } from "viem";
import { HUB_PROTOCOL_VERSION, type ProviderMessage, type WarmSet } from "../../protocol/hubMessages.ts";
import { transitionIfStill } from "../jobs/transitions.ts";
import { alarmNoLaterThan, type HubState } from "./hubState.ts";
import { jobsHeldBy } from "./jobReads.ts";
import { publishCapacity, publishWarm, withdrawProvider } from "./matchmakers.ts";
import { onDecline } from "./offers.ts";
import { decideLostJob, type LossCause } from "./providerLoss.ts";
import { UnopenableSecretsError } from "../security/jobSecrets.ts";
import { startMessage } from "./jobSecrets.ts";
import { reconcileRunning, type HeldJob } from "./reconcile.ts";
import { AUTH_TIMEOUT_MS, HEARTBEAT_MS } from "./signIn.ts";
import { attachmentOf, authedSockets, send } from "./sockets.ts";

/** A socket that has not pinged for three heartbeats is dead, whatever TCP thinks. */
const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

type Advertise = Extract<ProviderMessage, { type: "advertise" }>;

export async function onAdvertise(state: HubState, ws: WebSocket, address: Address, message: Advertise): Promise<void> {
  state.store.advertise(address, message.resources, message.pricing);
  const { lost, cancel, start } = reconcileRunning(await jobsHeldBy(state.jobContext().db, address), message.running);
  for (const job of lost) await settleLostJob(state, job.id, job.attempt, address, "restarted");
  for (const jobId of cancel) {
    if (state.store.reservation(jobId)?.address === address) state.store.release(jobId);
    send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.cancel", job_id: jobId, reason: "the job is no longer assigned to you" });
  }
  for (const job of start) await sendStartAgain(state, ws, address, job);
  // An advertise without a warm set (an older daemon, or one that has not looked yet) says nothing held is known: an empty set.
  await publishCapacity(state, address, message.warm ?? { images: [], inputs: [] });
}

/** A start the old connection may have lost, sent again with the job's secrets; a job whose secrets cannot be opened fails instead. */
async function sendStartAgain(state: HubState, ws: WebSocket, address: Address, job: HeldJob): Promise<void> {
  try {
    send(ws, await startMessage(state.config.secretsKey, job.id, job.sealedSecrets));
  } catch (error) {
    if (!(error instanceof UnopenableSecretsError)) throw error;
    await transitionIfStill(state.jobContext(), job.id, "failed", { error: error.message }, "hub");
    if (state.store.reservation(job.id)?.address === address) state.store.release(job.id);
    send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.cancel", job_id: job.id, reason: error.message });
  }
}

/** The provider's images and cached inputs changed since it advertised. */
export async function onWarm(state: HubState, address: Address, warm: WarmSet): Promise<void> {
  await publishWarm(state, address, warm);
}

/** A socket closed or errored: the provider is disconnected unless another socket of its own is live. */
export async function onSocketGone(state: HubState, ws: WebSocket): Promise<void> {
  const attachment = attachmentOf(ws);
  if (!attachment?.authed) return;
  const stillConnected = authedSockets(state, attachment.address).some((other) => other !== ws);
  if (!stillConnected) await onProviderDisconnected(state, attachment.address);
}

async function onProviderDisconnected(state: HubState, address: Address): Promise<void> {
  const now = Date.now();
  state.store.disconnect(address, now);
  for (const offer of state.store.reservationsOf(address).filter((r) => r.state === "offered")) {
    await onDecline(state, address, offer.jobId, "expired");
  }
  await withdrawProvider(state, address);
  await alarmNoLaterThan(state, now + state.config.matching.providerGraceMs);
}

/** On the alarm: sockets that never signed in, or stopped pinging, are closed; providers gone too long are lost. */
export async function checkPresence(state: HubState, now: number): Promise<void> {
  for (const ws of state.ctx.getWebSockets()) {
    const attachment = attachmentOf(ws);
    if (!attachment) continue;
    if (!attachment.authed && now - attachment.connectedAt > AUTH_TIMEOUT_MS) ws.close(4408, "authentication timed out");
    if (attachment.authed) {
      const lastPing = state.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? attachment.connectedAt;
      if (now - Math.max(lastPing, attachment.connectedAt) > STALE_AFTER_MS) {
        ws.close(4408, "heartbeat missed");
        await onSocketGone(state, ws);
      }
    }
  }
  const lostBy = now - state.config.matching.providerGraceMs;
  for (const address of state.store.lostBefore(lostBy)) await onProviderLost(state, address as Address, lostBy);
}

/** The next time the alarm must fire: an offer's expiry, a grace period's end, the next heartbeat check. */
export function nextAlarmAt(state: HubState): number | undefined {
  const candidates = [state.store.earliestOfferExpiry()];
  const disconnected = state.store.earliestDisconnect();
  if (disconnected !== undefined) candidates.push(disconnected + state.config.matching.providerGraceMs);
  if (state.ctx.getWebSockets().length > 0) candidates.push(Date.now() + HEARTBEAT_MS);
  return candidates.filter((t): t is number => t !== undefined).sort((a, b) => a - b)[0];
}

/** Gone past the grace period: its jobs are requeued or failed, its record dropped. */
async function onProviderLost(state: HubState, address: Address, disconnectedBy: number): Promise<void> {
  // Only what this hub holds: a provider now connected to another shard (the shard count changed) runs the rest there.
  const heldHere = new Set(state.store.reservationsOf(address).map((reservation) => reservation.jobId));
  for (const job of await jobsHeldBy(state.jobContext().db, address)) {
    if (heldHere.has(job.id)) await settleLostJob(state, job.id, job.attempt, address, "gone");
  }
  state.store.forget(address, disconnectedBy);
}

async function settleLostJob(state: HubState, jobId: string, attempt: number, address: Address, cause: LossCause): Promise<void> {
  const { maxJobAttempts, providerGraceMs } = state.config.matching;
  const decision = decideLostJob({ attempt }, address, maxJobAttempts, providerGraceMs, cause);
  state.store.release(jobId);
  const ctx = state.jobContext();
  if (decision.action === "requeue") await transitionIfStill(ctx, jobId, "queued", { statusDetail: decision.detail }, "hub", { provider: address });
  else await transitionIfStill(ctx, jobId, "failed", { error: decision.error }, "hub", { provider: address });
}
