// A hub Durable Object: holds the WebSockets of the providers hashed to its
// shard (Hibernation API, so idle sockets cost nothing), is the one authority
// on their capacity, and relays offers, status, logs and results. Decisions
// live in plain modules (capacity, providerLoss, reconcile, resultCheck, registration); this wires them.
import { DurableObject } from "cloudflare:workers";
import { and, eq, inArray } from "drizzle-orm";
import { verifyMessage, verifyTypedData, type Address, type Hex } from "viem";
import { jobAcceptanceTypes, mediationTypes } from "../../protocol/eip712.ts";
import {
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  HUB_PROTOCOL_VERSION,
  parseFrame,
  ProviderMessage,
  providerLoginMessage,
  type HubMessage,
  type ResultMessage,
} from "../../protocol/hubMessages.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { isTerminal, type JobStatus } from "../../protocol/jobStatus.ts";
import { marketDomain } from "../chain/jobFunding.ts";
import { isChainConfigured } from "../chain/clients.ts";
import { relayerFor } from "../chain/relayer.ts";
import { safeErrorText } from "../chain/safeErrorText.ts";
import { getConfig } from "../config.ts";
import { createDb } from "../db/client.ts";
import { jobs } from "../db/schema.ts";
import type { Env } from "../env.ts";
import { lostTheRace, setStatusDetail, transitionIfStill, transitionJob, type JobContext } from "../jobs/transitions.ts";
import { classesServedBy, jobClasses } from "../matching/jobClass.ts";
import type { Assignment } from "../matching/matcher.ts";
import { randomBytes, toHex } from "../security/randomToken.ts";
import { capacityOf, reservationFits } from "./capacity.ts";
import { HubStore } from "./hubStore.ts";
import { reconcileRunning, type HeldJob } from "./reconcile.ts";
import { reputationOf, unregisteredReason } from "./registration.ts";
import { decideLostJob } from "./providerLoss.ts";
import { checkSucceededResult } from "./resultCheck.ts";
import { backgroundJobContext } from "../jobs/backgroundContext.ts";

const AUTH_TIMEOUT_MS = 10_000;
const HEARTBEAT_MS = 10_000;
/** A socket that has not pinged for three heartbeats is dead, whatever TCP thinks. */
const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

interface SocketAttachment {
  address: Address;
  nonce: string;
  authed: boolean;
  connectedAt: number;
}

export type OfferOutcome = { ok: true } | { ok: false; reason: string; jobGone?: boolean; providerGone?: boolean };

export class ProviderHub extends DurableObject<Env> {
  private readonly store: HubStore;
  /**
   * Messages about one job are handled one at a time, in the order they came:
   * D1 calls let other messages in, and a result must never overtake its "running".
   */
  private readonly jobQueues = new Map<string, Promise<void>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new HubStore(ctx.storage.sql);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_PING, HEARTBEAT_PONG));
  }

  private get config() {
    return getConfig(this.env);
  }

  private jobContext(): JobContext {
    return backgroundJobContext(this.env);
  }

  private domain() {
    return marketDomain(this.config);
  }

  // ---- connection lifecycle ----

  /** The upgrade, routed here by the Worker with `?address=` already checked. */
  override async fetch(request: Request): Promise<Response> {
    const address = new URL(request.url).searchParams.get("address")!.toLowerCase() as Address;
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [address]);
    const nonce = toHex(randomBytes(16));
    const attachment: SocketAttachment = { address, nonce, authed: false, connectedAt: Date.now() };
    server.serializeAttachment(attachment);
    send(server, { v: HUB_PROTOCOL_VERSION, type: "hello", nonce });
    await this.scheduleAlarm(Date.now() + AUTH_TIMEOUT_MS);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    if (typeof raw !== "string") return sendError(ws, "bad_frame", "binary frames are not part of the protocol");
    const parsed = parseFrame(ProviderMessage, raw);
    if (!parsed.ok) return sendError(ws, "bad_frame", parsed.error);
    const attachment = ws.deserializeAttachment() as SocketAttachment;
    const message = parsed.message;
    try {
      if (!attachment.authed) {
        if (message.type !== "auth") return sendError(ws, "not_authenticated", "send auth (a signature over the hello nonce) first");
        return await this.authenticate(ws, attachment, message.signature as Hex);
      }
      const address = attachment.address;
      if (message.type === "auth") return sendError(ws, "already_authenticated", "this connection is already authenticated");
      if (message.type === "advertise") return await this.onAdvertise(ws, address, message);
      await this.inJobOrder(message.job_id, async () => {
        switch (message.type) {
          case "job.accept":
            return await this.onAccept(ws, address, message.job_id, message.signature as Hex);
          case "job.decline":
            return await this.onDecline(address, message.job_id, "declined");
          case "job.status":
            return await this.onStatus(address, message.job_id, message.phase, message.detail);
          case "job.log":
            return await this.onLog(address, message.job_id, message.data);
          case "job.result":
            return await this.onResult(ws, address, message);
          case "job.mediation":
            return await this.onMediation(ws, address, message);
        }
      });
    } catch (error) {
      // One bad message must not take the connection (or the other providers) down.
      console.error(`hub: handling ${message.type} from ${attachment.address} failed: ${safeErrorText(error, this.config.chain.rpcUrl)}`);
      sendError(ws, "internal", `the hub could not process ${message.type}; it may be retried`);
    }
  }

  private inJobOrder(jobId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.jobQueues.get(jobId) ?? Promise.resolve();
    const run = previous.then(work);
    const tail = run.catch(() => undefined);
    this.jobQueues.set(jobId, tail);
    void tail.then(() => {
      if (this.jobQueues.get(jobId) === tail) this.jobQueues.delete(jobId);
    });
    return run;
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    await this.onSocketGone(ws);
    // Complete the closing handshake; the socket may already be closed by the peer.
    if (ws.readyState === WebSocket.READY_STATE_OPEN) ws.close(code === 1005 ? 1000 : code, "closing");
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.onSocketGone(ws);
  }

  private async onSocketGone(ws: WebSocket): Promise<void> {
    const attachment = ws.deserializeAttachment() as SocketAttachment | null;
    if (!attachment?.authed) return;
    const stillConnected = this.authedSockets(attachment.address).some((other) => other !== ws);
    if (!stillConnected) await this.onProviderDisconnected(attachment.address);
  }

  private async authenticate(ws: WebSocket, attachment: SocketAttachment, signature: Hex): Promise<void> {
    const valid = await verifyMessage({ address: attachment.address, message: providerLoginMessage(attachment.nonce), signature }).catch(() => false);
    if (!valid) {
      sendError(ws, "auth_failed", `the signature does not prove address ${attachment.address}`);
      ws.close(4401, "authentication failed");
      return;
    }
    const unregistered = await unregisteredReason(this.env, this.config, attachment.address);
    if (unregistered) {
      sendError(ws, "not_registered", unregistered);
      ws.close(4403, "not registered");
      return;
    }
    // One live connection per provider: a reconnect replaces the old socket.
    for (const old of this.authedSockets(attachment.address)) old.close(4409, "replaced by a newer connection");
    ws.serializeAttachment({ ...attachment, authed: true } satisfies SocketAttachment);
    this.store.connect(attachment.address, await reputationOf(this.env, attachment.address));
    const domain = this.domain();
    send(ws, {
      v: HUB_PROTOCOL_VERSION,
      type: "welcome",
      address: attachment.address,
      chain_id: Number(domain.chainId),
      verifying_contract: domain.verifyingContract as Address,
      heartbeat_ms: HEARTBEAT_MS,
    });
    await this.scheduleAlarm(Date.now() + HEARTBEAT_MS);
  }

  private authedSockets(address: string): WebSocket[] {
    return this.ctx.getWebSockets(address).filter((ws) => (ws.deserializeAttachment() as SocketAttachment | null)?.authed);
  }

  private socketOf(address: string): WebSocket | undefined {
    return this.authedSockets(address)[0];
  }

  // ---- provider messages ----

  private async onAdvertise(ws: WebSocket, address: Address, message: Extract<ProviderMessage, { type: "advertise" }>): Promise<void> {
    this.store.advertise(address, message.resources, message.pricing);
    const { lost, cancel, start } = reconcileRunning(await this.jobsHeldBy(address), message.running);
    for (const job of lost) await this.settleLostJob(job.id, job.attempt, address);
    for (const jobId of cancel) {
      if (this.store.reservation(jobId)?.address === address) this.store.release(jobId);
      send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.cancel", job_id: jobId, reason: "the job is no longer assigned to you" });
    }
    for (const jobId of start) send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.start", job_id: jobId });
    await this.publishCapacity(address);
  }

  /** The jobs this provider holds now (assigned and not finished). */
  private async jobsHeldBy(address: Address): Promise<HeldJob[]> {
    const rows = await createDb(this.env.DB)
      .select({ id: jobs.id, status: jobs.status, attempt: jobs.attempt })
      .from(jobs)
      .where(and(eq(jobs.provider, address), inArray(jobs.status, ["starting", "processing"])));
    return rows.map((row) => ({ ...row, status: row.status as JobStatus }));
  }

  private async onAccept(ws: WebSocket, address: Address, jobId: string, signature: Hex): Promise<void> {
    const reservation = this.store.reservation(jobId);
    if (!reservation || reservation.address !== address || reservation.state !== "offered") {
      return sendError(ws, "no_offer", `there is no open offer of job ${jobId} to you`);
    }
    const signed = await verifyTypedData({
      address,
      domain: this.domain(),
      types: jobAcceptanceTypes,
      primaryType: "JobAcceptance",
      message: { jobId: reservation.chainJobId as Hex, maxAmount: BigInt(reservation.maxAmountWei) },
      signature,
    }).catch(() => false);
    if (!signed) {
      sendError(ws, "bad_signature", `the acceptance of ${jobId} is not signed by ${address}; treated as a decline`);
      return this.onDecline(address, jobId, "declined");
    }
    this.store.markAccepted(jobId);
    try {
      await transitionJob(
        this.jobContext(),
        jobId,
        "starting",
        {
          provider: address,
          statusDetail: "assigned; the provider is pulling the image",
          agreement: { rateWeiPerSecond: reservation.rateWeiPerSecond, maxAmountWei: reservation.maxAmountWei },
        },
        "hub",
      );
    } catch (error) {
      if (!lostTheRace(error)) throw error;
      // Canceled (or taken) while the offer was out.
      this.store.release(jobId);
      send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.cancel", job_id: jobId, reason: "the job is no longer queued" });
      await this.resolveOffer(jobId, address, "gone");
      await this.publishCapacity(address);
      return;
    }
    send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.start", job_id: jobId });
    await this.resolveOffer(jobId, address, "accepted");
  }

  private async onDecline(address: Address, jobId: string, outcome: "declined" | "expired"): Promise<void> {
    const reservation = this.store.reservation(jobId);
    if (!reservation || reservation.address !== address || reservation.state !== "offered") return;
    this.store.release(jobId);
    await this.resolveOffer(jobId, address, outcome);
    await this.publishCapacity(address);
  }

  private async onStatus(address: Address, jobId: string, phase: "pulling" | "running", detail?: string): Promise<void> {
    const ctx = this.jobContext();
    if (phase === "pulling") return setStatusDetail(ctx.db, jobId, "starting", detail ?? "pulling the image", address);
    // A repeated "running" after a reconnect, or a job canceled meanwhile, changes nothing.
    await transitionIfStill(ctx, jobId, "processing", { statusDetail: null }, "hub", { provider: address });
  }

  private async onLog(address: Address, jobId: string, data: string): Promise<void> {
    if (this.store.reservation(jobId)?.address !== address) return;
    await this.env.JOB_ROOM.get(this.env.JOB_ROOM.idFromName(jobId)).appendLogs(jobId, data);
  }

  private async onResult(ws: WebSocket, address: Address, result: ResultMessage): Promise<void> {
    const ack = (accepted: boolean, error?: string) =>
      send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.result.ack", job_id: result.job_id, accepted, ...(error ? { error } : {}) });
    const ctx = this.jobContext();
    const job = (await ctx.db.select().from(jobs).where(eq(jobs.id, result.job_id)))[0];
    if (!job || job.provider !== address) return ack(false, `job ${result.job_id} is not assigned to you`);
    const finished = async (status: string) => {
      // A result resent after a reconnect, or one for a job ended meanwhile: free its
      // capacity and acknowledge, so the provider drops it.
      if (this.store.release(job.id)) await this.publishCapacity(address);
      ack(status === result.outcome, `the job is already ${status}`);
    };
    if (isTerminal(job.status as JobStatus)) return finished(job.status);

    let to: JobStatus = result.outcome;
    const patch: Parameters<typeof transitionJob>[3] = { exitCode: result.exit_code, error: result.error };
    let refusal: string | undefined;
    if (result.outcome === "succeeded") {
      const check = await checkSucceededResult(
        {
          jobId: job.id,
          chainJobId: job.chainJobId as Hex,
          provider: address,
          maxAmountWei: BigInt(job.maxAmountWei ?? "0"),
          domain: this.domain(),
          bucket: this.env.OUTPUTS,
        },
        result,
      );
      if (check.ok) {
        patch.output = check.manifest;
        patch.claim = { amountWei: check.amountWei.toString(), signature: check.signature };
      } else {
        to = "failed";
        refusal = check.error;
        patch.error = `the provider's result was refused: ${check.error}`;
      }
    }
    try {
      // Its "running" was lost with a connection: the job ran, so it passes through processing.
      if (job.status === "starting" && to === "succeeded") await transitionJob(ctx, job.id, "processing", { statusDetail: null }, "hub", { provider: address });
      await transitionJob(ctx, job.id, to, patch, "hub", { provider: address });
    } catch (error) {
      if (!lostTheRace(error)) throw error;
      const now = (await ctx.db.select({ status: jobs.status, provider: jobs.provider }).from(jobs).where(eq(jobs.id, job.id)))[0];
      if (now?.provider !== address) return ack(false, `job ${result.job_id} is no longer assigned to you`);
      return finished(now.status);
    }
    this.store.release(job.id);
    ack(refusal === undefined, refusal);
    await this.publishCapacity(address);
  }

  /**
   * A verdict from the mediator drawn for the job goes to the relayer as it is
   * (the contract checks the signature again); anyone else's is refused.
   */
  private async onMediation(ws: WebSocket, address: Address, message: Extract<ProviderMessage, { type: "job.mediation" }>): Promise<void> {
    if (!this.store.isDrawnMediator(message.job_id, address)) {
      return sendError(ws, "not_mediator", `${address} was not drawn to mediate ${message.job_id}; only the drawn mediator's verdict counts`);
    }
    if (!isChainConfigured(this.config)) return sendError(ws, "no_chain", "this network does not settle on chain: there is no challenge to resolve");
    const job = (await createDb(this.env.DB).select({ chainJobId: jobs.chainJobId }).from(jobs).where(eq(jobs.id, message.job_id)))[0];
    const signed =
      job !== undefined &&
      (await verifyTypedData({
        address,
        domain: this.domain(),
        types: mediationTypes,
        primaryType: "Mediation",
        message: { jobId: job.chainJobId as Hex, resultHash: message.result_hash as Hex },
        signature: message.signature as Hex,
      }).catch(() => false));
    if (!job || !signed) return sendError(ws, "bad_mediation", `the mediation of ${message.job_id} is not signed by ${address} over that job`);
    await relayerFor(this.env, this.config).enqueue([
      { kind: "resolve", jobId: message.job_id, chainJobId: job.chainJobId as Hex, payload: { resultHash: message.result_hash as Hex, signature: message.signature as Hex } },
    ]);
  }

  // ---- calls from matchmakers, the indexer and the API ----

  /** The indexer says this provider was drawn to mediate a challenged job. Returns whether it was asked. */
  async mediate(address: string, jobId: string, chainJobId: string): Promise<boolean> {
    const ws = this.socketOf(address);
    if (!ws) return false;
    const job = (await createDb(this.env.DB).select({ spec: jobs.spec }).from(jobs).where(eq(jobs.id, jobId)))[0];
    if (!job) return false;
    this.store.drawnAsMediator(jobId, address);
    send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.mediate", job_id: jobId, chain_job_id: chainJobId, spec: job.spec as JobSpec });
    return true;
  }

  /** A matchmaker proposes a job for a provider here. Reserve, or say why not. */
  async offer(assignment: Assignment): Promise<OfferOutcome> {
    const address = assignment.provider as Address;
    const provider = this.store.provider(address);
    const ws = this.socketOf(address);
    if (!provider?.connected || !provider.resources || !provider.pricing || !ws) {
      return { ok: false, reason: "the provider is not connected", providerGone: true };
    }
    const db = createDb(this.env.DB);
    const job = (await db.select({ status: jobs.status, spec: jobs.spec, chainJobId: jobs.chainJobId, settlement: jobs.settlement }).from(jobs).where(eq(jobs.id, assignment.jobId)))[0];
    if (!job || job.status !== "queued") return { ok: false, reason: "the job is no longer queued", jobGone: true };
    // Never offer work that might not be paid for; the indexer queues it again once its reservation is on chain.
    if (job.settlement === "reserving") return { ok: false, reason: "the job's escrow reservation is not on chain yet", jobGone: true };
    // A provider whose stake fell away since it connected (slashed, unbonded) can no longer be paid.
    const unregistered = await unregisteredReason(this.env, this.config, address);
    if (unregistered) {
      sendError(ws, "not_registered", unregistered);
      return { ok: false, reason: unregistered, providerGone: true };
    }

    // From here to reserve() nothing awaits: offers running side by side all see each other's reservations.
    if (this.store.reservation(assignment.jobId)) return { ok: false, reason: "the job is already offered here", jobGone: true };
    const current = this.store.provider(address);
    if (!current?.connected || !current.resources || !current.pricing) return { ok: false, reason: "the provider is not connected", providerGone: true };
    const wanted = { jobId: assignment.jobId, gpuUuids: assignment.gpuUuids, milliCpus: assignment.milliCpus, memoryMb: assignment.memoryMb };
    const capacity = capacityOf(address, current.resources, current.pricing, current.reputation, this.store.reservationsOf(address));
    const misfit = reservationFits(capacity, wanted);
    if (misfit) {
      await this.publishCapacity(address); // the matchmaker's copy is stale: refresh it
      return { ok: false, reason: misfit };
    }

    const expiresAt = Date.now() + this.config.matching.offerTimeoutMs;
    this.store.reserve({
      ...wanted,
      address,
      state: "offered",
      offerExpiresAt: expiresAt,
      rateWeiPerSecond: assignment.rateWeiPerSecond.toString(),
      maxAmountWei: assignment.maxAmountWei.toString(),
      chainJobId: job.chainJobId,
    });
    send(ws, {
      v: HUB_PROTOCOL_VERSION,
      type: "job.offer",
      job_id: assignment.jobId,
      chain_job_id: job.chainJobId,
      spec: job.spec as JobSpec,
      gpu_uuids: assignment.gpuUuids,
      rate_wei_per_second: assignment.rateWeiPerSecond.toString(),
      max_amount_wei: assignment.maxAmountWei.toString(),
      expires_at: expiresAt,
    });
    await this.scheduleAlarm(expiresAt);
    // Published before answering, so the matchmaker's next round sees the reservation.
    await this.publishCapacity(address);
    return { ok: true };
  }

  /** A job left `starting`/`processing` by someone else's hand (cancel, sweeper): stop it and free its capacity. */
  async jobEnded(address: string, jobId: string, status: JobStatus): Promise<void> {
    const released = this.store.release(jobId);
    const ws = this.socketOf(address);
    if (ws) send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.cancel", job_id: jobId, reason: `the job is ${status}` });
    if (released) await this.publishCapacity(address as Address);
  }

  // ---- timers ----

  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const offer of this.store.expiredOffers(now)) {
      const ws = this.socketOf(offer.address);
      if (ws) send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.cancel", job_id: offer.jobId, reason: "the offer expired" });
      await this.onDecline(offer.address as Address, offer.jobId, "expired");
    }
    for (const ws of this.ctx.getWebSockets()) {
      const attachment = ws.deserializeAttachment() as SocketAttachment | null;
      if (!attachment) continue;
      if (!attachment.authed && now - attachment.connectedAt > AUTH_TIMEOUT_MS) ws.close(4408, "authentication timed out");
      if (attachment.authed) {
        const lastPing = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? attachment.connectedAt;
        if (now - Math.max(lastPing, attachment.connectedAt) > STALE_AFTER_MS) {
          ws.close(4408, "heartbeat missed");
          await this.onSocketGone(ws);
        }
      }
    }
    const lostBy = now - this.config.matching.providerGraceMs;
    for (const address of this.store.lostBefore(lostBy)) await this.onProviderLost(address as Address, lostBy);
    await this.scheduleNextAlarm();
  }

  private async scheduleNextAlarm(): Promise<void> {
    const candidates = [this.store.earliestOfferExpiry()];
    const disconnected = this.store.earliestDisconnect();
    if (disconnected !== undefined) candidates.push(disconnected + this.config.matching.providerGraceMs);
    if (this.ctx.getWebSockets().length > 0) candidates.push(Date.now() + HEARTBEAT_MS);
    const next = candidates.filter((t): t is number => t !== undefined).sort((a, b) => a - b)[0];
    if (next !== undefined) await this.ctx.storage.setAlarm(next);
  }

  private async scheduleAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  // ---- providers coming and going ----

  private async onProviderDisconnected(address: Address): Promise<void> {
    const now = Date.now();
    this.store.disconnect(address, now);
    for (const offer of this.store.reservationsOf(address).filter((r) => r.state === "offered")) {
      await this.onDecline(address, offer.jobId, "expired");
    }
    await Promise.all(jobClasses.map((jobClass) => this.matchmaker(jobClass).removeProvider(address)));
    await this.scheduleAlarm(now + this.config.matching.providerGraceMs);
  }

  /** Gone past the grace period: its jobs are requeued or failed (providerLoss.ts), its record dropped. */
  private async onProviderLost(address: Address, disconnectedBy: number): Promise<void> {
    for (const job of await this.jobsHeldBy(address)) await this.settleLostJob(job.id, job.attempt, address);
    this.store.forget(address, disconnectedBy);
  }

  private async settleLostJob(jobId: string, attempt: number, address: Address): Promise<void> {
    const { maxJobAttempts, providerGraceMs } = this.config.matching;
    const decision = decideLostJob({ attempt }, address, maxJobAttempts, providerGraceMs);
    this.store.release(jobId);
    if (decision.action === "requeue") await transitionIfStill(this.jobContext(), jobId, "queued", { statusDetail: decision.detail }, "hub", { provider: address });
    else await transitionIfStill(this.jobContext(), jobId, "failed", { error: decision.error }, "hub", { provider: address });
  }

  // ---- talking to matchmakers ----

  private matchmaker(jobClass: string) {
    return this.env.MATCHMAKER.get(this.env.MATCHMAKER.idFromName(jobClass));
  }

  /** Tells the matchmakers how an offer ended; the one that made it acts, the others know no such job. */
  private async resolveOffer(jobId: string, address: string, outcome: "accepted" | "declined" | "expired" | "gone"): Promise<void> {
    await Promise.all(jobClasses.map((jobClass) => this.matchmaker(jobClass).offerResolved(jobId, address, outcome)));
  }

  private async publishCapacity(address: Address): Promise<void> {
    const provider = this.store.provider(address);
    if (!provider?.connected || !provider.resources || !provider.pricing) return;
    const capacity = capacityOf(address, provider.resources, provider.pricing, provider.reputation, this.store.reservationsOf(address));
    const served = classesServedBy({ gpuCount: provider.resources.gpus.length });
    await Promise.all(served.map((jobClass) => this.matchmaker(jobClass).upsertProvider(capacity)));
  }
}

function send(ws: WebSocket, message: HubMessage): void {
  ws.send(JSON.stringify(message));
}

function sendError(ws: WebSocket, code: string, message: string): void {
  send(ws, { v: HUB_PROTOCOL_VERSION, type: "error", code, message });
}
