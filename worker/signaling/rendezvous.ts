// A job's rendezvous: where its peers (the creator, the provider, a drawn
// mediator, the providers of later jobs that take its outputs as inputs) exchange
// WebRTC offers, answers and candidates. It only relays: it
// never reads a payload, and it stamps every message with the sender the
// connection authenticated. The creator is connected here by WebSocket; the
// provider and a mediator through their hub socket. A message for a peer that is
// not there waits (bounded in count and time) and then comes back as an error.
import { eq } from "drizzle-orm";
import type { JobStatus, SettlementStatus } from "../../protocol/jobStatus.ts";
import { isConsumerRole, relaySignal, signalErrorAbout, SIGNALING_PROTOCOL_VERSION, type ClientSignal, type ServerSignal } from "../../protocol/signaling.ts";
import { hubOf } from "../bindings/objects.ts";
import type { Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import { jobs } from "../db/schema.ts";
import { notFound, type ApiError } from "../errors/problem.ts";
import { creatorJoinRefusal } from "./joinPolicy.ts";
import type { RendezvousStore } from "./rendezvousStore.ts";

/** The roles a job's peers have; besides these, consumers of its outputs (protocol/signaling.ts consumerRole). */
export const peerRoles = ["creator", "provider", "mediator"] as const;
export type JobPeer = (typeof peerRoles)[number] | `c-${string}`;

export const MAX_QUEUED_PER_PEER = 64;
/** How often a message held for the provider or a mediator is offered to its hub again. */
const RETRY_MS = 1_000;

export interface RendezvousState {
  ctx: DurableObjectState;
  env: Env;
  config: Config;
  db: Db;
  store: RendezvousStore;
  jobId: string;
}

const isPeer = (role: string): role is JobPeer => (peerRoles as readonly string[]).includes(role) || isConsumerRole(role);

/** A consumer of the job's outputs talks with the job's provider only, and only the provider with it. */
const mayReach = (src: JobPeer, dst: JobPeer) => dst !== src && (isConsumerRole(src) || isConsumerRole(dst) ? src === "provider" || dst === "provider" : true);

/**
 * A message from a peer: relayed to its `dst`, or held for it, or refused with an error to the sender.
 * `consumed`: for a consumer's offer, the outputs its job takes (stamped on the offer).
 */
export async function relay(state: RendezvousState, src: JobPeer, message: ClientSignal, consumed?: readonly string[], now = Date.now()): Promise<void> {
  if (!isPeer(message.dst) || !mayReach(src, message.dst)) {
    const peers = isConsumerRole(src) ? 'signal "provider"' : 'signal "creator", "provider" or "mediator"';
    await sendTo(state, src, signalErrorAbout("unknown_peer", `${message.dst} is not a peer of this job you may signal: ${peers}`, message));
    return;
  }
  const frame = relaySignal(message, src, consumed);
  if (await sendTo(state, message.dst, frame)) return;
  if (state.store.queuedCount(message.dst) >= MAX_QUEUED_PER_PEER) {
    await sendTo(state, src, signalErrorAbout("queue_full", `${MAX_QUEUED_PER_PEER} messages already wait for ${message.dst}; this one was dropped`, message));
    return;
  }
  const expiresAt = now + state.config.signaling.waitMs;
  state.store.enqueue(message.dst, src, frame, expiresAt);
  await alarmNoLaterThan(state, Math.min(expiresAt, now + RETRY_MS));
}

/** A peer is here: what waited for it is delivered, and the others are told. */
export async function peerArrived(state: RendezvousState, role: JobPeer): Promise<void> {
  await flush(state, role);
  await tellOthers(state, role, true);
}

export async function peerLeft(state: RendezvousState, role: JobPeer): Promise<void> {
  await tellOthers(state, role, false);
}

/** On the alarm: expired messages go back to their senders as errors; hub-side peers are tried again. */
export async function onAlarm(state: RendezvousState, now = Date.now()): Promise<void> {
  for (const waiting of state.store.waitingFor()) if (isPeer(waiting) && waiting !== "creator") await flush(state, waiting);
  for (const expired of state.store.takeExpired(now)) {
    if (!isPeer(expired.src)) continue;
    const refType = expired.frame.type === "error" || expired.frame.type === "peer" ? undefined : expired.frame.type;
    const session = "session" in expired.frame ? expired.frame.session : undefined;
    const message = `${expired.dst} did not join within ${state.config.signaling.waitMs / 1000} s; the message was dropped`;
    await sendTo(state, expired.src, signalErrorAbout("peer_absent", message, { dst: expired.dst, type: refType, session }));
  }
  const next = state.store.earliestExpiry();
  if (next !== undefined) await state.ctx.storage.setAlarm(Math.min(next, now + RETRY_MS));
}

async function flush(state: RendezvousState, role: JobPeer): Promise<void> {
  const waiting = state.store.takeQueued(role);
  for (let i = 0; i < waiting.length; i++) {
    if (!(await sendTo(state, role, waiting[i]!.frame))) {
      state.store.restore(waiting.slice(i));
      return;
    }
  }
}

/** The job's peers hear of each other coming and going; its consumers hear of the provider only, and nobody of them. */
async function tellOthers(state: RendezvousState, role: JobPeer, present: boolean): Promise<void> {
  if (isConsumerRole(role)) return;
  const others = role === "provider" ? [...peerRoles, ...state.store.consumerRoles()] : peerRoles;
  for (const other of others) {
    if (other !== role) await sendTo(state, other, { v: SIGNALING_PROTOCOL_VERSION, type: "peer", peer: role, present });
  }
}

/** Delivers to a peer if it is reachable now; whether it was. */
export async function sendTo(state: RendezvousState, role: JobPeer, frame: ServerSignal): Promise<boolean> {
  if (role === "creator") {
    const sockets = state.ctx.getWebSockets(role);
    for (const ws of sockets) ws.send(JSON.stringify(frame));
    return sockets.length > 0;
  }
  const address = role === "provider" ? await providerOf(state) : state.store.peerAddress(role);
  if (!address) return false;
  return hubOf(state.env, state.config, address).deliverSignal(address, state.jobId, frame);
}

/** Why the creator may not open another socket here now (worker/signaling/joinPolicy.ts), or undefined. */
export async function creatorJoinRefusalFor(state: RendezvousState, openSockets: number, now = Date.now()): Promise<ApiError | undefined> {
  const row = (await state.db.select({ status: jobs.status, settlement: jobs.settlement, completedAt: jobs.completedAt }).from(jobs).where(eq(jobs.id, state.jobId)))[0];
  if (!row) return notFound("job");
  return creatorJoinRefusal({ status: row.status as JobStatus, settlement: row.settlement as SettlementStatus, completedAt: row.completedAt }, openSockets, now);
}

/** The job's provider now (a requeued job may have a new one). */
async function providerOf(state: RendezvousState): Promise<string | undefined> {
  const row = (await state.db.select({ provider: jobs.provider }).from(jobs).where(eq(jobs.id, state.jobId)))[0];
  return row?.provider ?? undefined;
}

async function alarmNoLaterThan(state: RendezvousState, at: number): Promise<void> {
  const current = await state.ctx.storage.getAlarm();
  if (current === null || current > at) await state.ctx.storage.setAlarm(at);
}

