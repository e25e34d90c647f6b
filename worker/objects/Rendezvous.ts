// One Durable Object per job, created on demand: the job's signaling
// rendezvous (worker/signaling/rendezvous.ts). The creator's sockets hibernate
// here; the provider and a mediator reach it through their hub.
import { DurableObject } from "cloudflare:workers";
import { isConsumerRole, parseClientSignal, SIGNALING_PROTOCOL_VERSION, type ClientSignal, type ServerSignal } from "../../protocol/signaling.ts";
import { getConfig } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import { apiErrorResponse, problemResponse } from "../errors/problem.ts";
import { issueJoinToken, spendJoinToken } from "../signaling/joinTokens.ts";
import { creatorJoinRefusalFor, onAlarm, peerArrived, peerLeft, relay, type JobPeer, type RendezvousState } from "../signaling/rendezvous.ts";
import { RendezvousStore } from "../signaling/rendezvousStore.ts";

export class Rendezvous extends DurableObject<Env> {
  private readonly store: RendezvousStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RendezvousStore(ctx.storage.sql);
  }

  private state(jobId?: string): RendezvousState {
    if (jobId) this.store.setJobId(jobId);
    const known = this.store.jobId();
    if (!known) throw new Error("a rendezvous used before it knew its job");
    return { ctx: this.ctx, env: this.env, config: getConfig(this.env), db: createDb(this.env.DB), store: this.store, jobId: known };
  }

  /** The creator's WebSocket, routed here by api/signaling.ts: authenticated by its key there, or by a join token here. */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const jobId = url.searchParams.get("job")!;
    const token = url.searchParams.get("token");
    if (token !== null && !(await spendJoinToken(this.store, token))) {
      return problemResponse({ type: "https://pond.dev/problems/unauthorized", title: "Unauthorized", status: 401, detail: "the join token is unknown, used or expired: ask POST /v1/jobs/{id}/signal-token for a new one" });
    }
    const state = this.state(jobId);
    const refusal = await creatorJoinRefusalFor(state, this.ctx.getWebSockets("creator").length);
    if (refusal) return apiErrorResponse(refusal);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, ["creator"]);
    await peerArrived(state, "creator");
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const parsed = typeof raw === "string" ? parseClientSignal(raw) : ({ ok: false, error: "binary frames are not part of the signaling protocol" } as const);
    if (!parsed.ok) {
      ws.send(JSON.stringify({ v: SIGNALING_PROTOCOL_VERSION, type: "error", code: "bad_message", message: parsed.error.slice(0, 500) } satisfies ServerSignal));
      return;
    }
    await relay(this.state(), "creator", parsed.message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    if (this.ctx.getWebSockets("creator").every((other) => other === ws)) await peerLeft(this.state(), "creator");
    if (ws.readyState === WebSocket.READY_STATE_OPEN) ws.close(code === 1005 ? 1000 : code, "closing");
  }

  override async alarm(): Promise<void> {
    await onAlarm(this.state());
  }

  /**
   * A signal from the job's provider, a drawn mediator or a consumer of its outputs, through its hub
   * (which checked who it is and, for a consumer, which of the job's outputs its job takes).
   */
  async relayFromHub(jobId: string, role: Exclude<JobPeer, "creator">, address: string, signal: ClientSignal, consumed?: readonly string[]): Promise<void> {
    const state = this.state(jobId);
    this.store.setPeerAddress(role, address);
    // A leave to a consumer turns that consumer away (nothing kept for it); any other says the sender left the job.
    if (signal.type === "leave" && !isConsumerRole(signal.dst)) {
      await relay(state, role, signal, consumed);
      this.store.setPresent(role, false);
      await peerLeft(state, role);
      return;
    }
    if (!this.store.isPresent(role)) {
      this.store.setPresent(role, true);
      await peerArrived(state, role);
    }
    await relay(state, role, signal, consumed);
  }

  /** A token a browser can join with once (the API checked the job is the caller's). */
  async issueToken(jobId: string): Promise<{ token: string; expiresAt: number }> {
    this.state(jobId);
    return issueJoinToken(this.store);
  }
}
