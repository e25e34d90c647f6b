// A hub Durable Object: holds the WebSockets of the providers hashed to its
// shard (Hibernation API, so idle sockets cost nothing), is the one authority on
// their capacity, and relays offers, status, logs and results. A thin shell:
// each event goes to a plain module in hub/ (signIn, offers, results,
// mediation, presence) with this object's state.
import { DurableObject } from "cloudflare:workers";
import type { Address, Hex } from "viem";
import { HEARTBEAT_PING, HEARTBEAT_PONG, parseFrame, ProviderMessage } from "../../protocol/hubMessages.ts";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import type { ServerSignal } from "../../protocol/signaling.ts";
import { getConfig } from "../config/config.ts";
import { HubStore } from "../hub/hubStore.ts";
import type { HubState } from "../hub/hubState.ts";
import { onCheckpoint } from "../hub/checkpoints.ts";
import { askToMediate, onMediation, onVerdict } from "../hub/mediation.ts";
import { expireOffers, offerJob, onAccept, onDecline, type OfferOutcome } from "../hub/offers.ts";
import { checkPresence, nextAlarmAt, onAdvertise, onSocketGone, onWarm } from "../hub/presence.ts";
import { jobEnded, onLog, onResult, onStatus, releaseOverdueStops } from "../hub/results.ts";
import { deliverSignal, onIceRequest, onSignal } from "../hub/signaling.ts";
import { LogIntake } from "../hub/logIntake.ts";
import { onTransferReport } from "../hub/transfers.ts";
import { acceptConnection, authenticate } from "../hub/signIn.ts";
import { attachmentOf, sendError } from "../hub/sockets.ts";
import type { Assignment } from "../matching/matcher.ts";
import { safeErrorText } from "../security/safeErrorText.ts";
import { jobContextFor } from "../wiring/jobContext.ts";

export class ProviderHub extends DurableObject<Env> {
  private readonly state: HubState;
  /**
   * Messages about one job are handled one at a time, in the order they came:
   * D1 calls let other messages in, and a result must never overtake its "running".
   */
  private readonly jobQueues = new Map<string, Promise<void>>();
  /** Log output waiting in those queues, bounded per job (hub/logIntake.ts). */
  private readonly logs = new LogIntake();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const store = new HubStore(ctx.storage.sql);
    this.state = {
      ctx,
      env,
      store,
      get config() {
        return getConfig(env);
      },
      // A webhook's first attempt runs on past the message that caused it (a result's ack, its capacity
      // published) while the object lives; one cut short is sent again by the sweeper.
      jobContext: () => jobContextFor(env, { background: (work) => ctx.waitUntil(work) }),
    };
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_PING, HEARTBEAT_PONG));
  }

  // ---- connection lifecycle ----

  override async fetch(request: Request): Promise<Response> {
    return acceptConnection(this.state, request);
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    if (typeof raw !== "string") return sendError(ws, "bad_frame", "binary frames are not part of the protocol");
    const parsed = parseFrame(ProviderMessage, raw);
    if (!parsed.ok) return sendError(ws, "bad_frame", parsed.error);
    const attachment = attachmentOf(ws)!;
    const message = parsed.message;
    const state = this.state;
    try {
      if (!attachment.authed) {
        if (message.type !== "auth") return sendError(ws, "not_authenticated", "send auth (a signature over the hello nonce) first");
        return await authenticate(state, ws, attachment, message.signature as Hex);
      }
      const address = attachment.address;
      if (message.type === "auth") return sendError(ws, "already_authenticated", "this connection is already authenticated");
      if (message.type === "advertise") return await onAdvertise(state, ws, address, message);
      if (message.type === "warm") return await onWarm(state, address, message.warm);
      if (message.type === "ice.request") return await onIceRequest(state, ws, address);
      if (message.type === "job.log") return await this.relayLog(address, message.job_id, message.data);
      await this.inJobOrder(message.job_id, async () => {
        switch (message.type) {
          case "job.accept":
            return onAccept(state, ws, address, message.job_id, message.signature as Hex);
          case "job.decline":
            return onDecline(state, address, message.job_id, message.busy ? "busy" : "declined");
          case "job.status":
            return onStatus(state, address, message.job_id, message.phase, message.detail);
          case "job.result":
            return onResult(state, ws, address, message);
          case "job.mediation":
            return onMediation(state, ws, address, message);
          case "job.verdict":
            return onVerdict(state, ws, address, message);
          case "signal":
            return onSignal(state, ws, address, message.job_id, message.signal, message.for_job);
          case "job.transfer":
            return onTransferReport(state, ws, address, message);
          case "job.checkpoint":
            return onCheckpoint(state, ws, address, message);
        }
      });
    } catch (error) {
      // One bad message must not take the connection (or the other providers) down.
      console.error(`hub: handling ${message.type} from ${attachment.address} failed: ${safeErrorText(error, state.config.chain.rpcUrl)}`);
      sendError(ws, "internal", `the hub could not process ${message.type}; it may be retried`);
    }
  }

  /** A log piece joins its job's queue unless too much of that job's log already waits there. */
  private async relayLog(address: Address, jobId: string, data: string): Promise<void> {
    // Before the budget: a neighbour's flood for a job it does not hold must not use up that job's budget (or take its drop note).
    if (this.state.store.reservation(jobId)?.address !== address) return;
    if (!this.logs.admit(jobId, data.length)) return;
    try {
      await this.inJobOrder(jobId, () => onLog(this.state, address, jobId, this.logs.withDropNote(jobId, data)));
    } finally {
      this.logs.done(jobId, data.length);
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
    await onSocketGone(this.state, ws);
    // Complete the closing handshake; the socket may already be closed by the peer.
    if (ws.readyState === WebSocket.READY_STATE_OPEN) ws.close(code === 1005 ? 1000 : code, "closing");
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await onSocketGone(this.state, ws);
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    await expireOffers(this.state, now);
    await releaseOverdueStops(this.state, now);
    await checkPresence(this.state, now);
    const next = nextAlarmAt(this.state);
    if (next !== undefined) await this.ctx.storage.setAlarm(next);
  }

  // ---- calls from matchmakers, the indexer and the API ----

  /** A matchmaker proposes a job for a provider here. Reserve, or say why not. */
  async offer(assignment: Assignment): Promise<OfferOutcome> {
    return offerJob(this.state, assignment);
  }

  /** A job left `starting`/`processing` by someone else's hand (cancel, sweeper): stop it and free its capacity. */
  async jobEnded(address: string, jobId: string, status: JobStatus): Promise<void> {
    return jobEnded(this.state, address, jobId, status);
  }

  /** A job's rendezvous has a signal for a provider here; whether its socket took it. */
  async deliverSignal(address: string, jobId: string, signal: ServerSignal): Promise<boolean> {
    return deliverSignal(this.state, address, jobId, signal);
  }

  /** The indexer says this provider was drawn to mediate a challenged job. Returns whether it was asked. */
  async mediate(address: string, jobId: string, chainJobId: string): Promise<boolean> {
    return askToMediate(this.state, address, jobId, chainJobId);
  }
}
