// The daemon's side of signaling, over its hub socket: signals for a job go
// out as hub `signal` messages (the hub stamps them with this provider's role
// in the job), signals for a job come back and go to whoever listens for that
// job, and STUN/TURN servers are asked for with `ice.request`.
import type { Logger } from "pino";
import { HUB_PROTOCOL_VERSION } from "../../protocol/hubMessages.ts";
import type { IceServer } from "../../protocol/iceServers.ts";
import { isConsumerRole, SIGNALING_PROTOCOL_VERSION, type ClientSignal, type ServerSignal } from "../../protocol/signaling.ts";
import type { HubClient } from "../connection/hubClient.ts";

/** Why a consumer's offer is turned away. */
export const NOTHING_FOR_YOU = "the provider keeps none of this job's files for you";
/** How long an `ice.request` may go unanswered before a transfer goes on without STUN/TURN. */
const ICE_ANSWER_TIMEOUT_MS = 5_000;
/** Credentials are asked for again this long before they expire. */
const ICE_RENEW_MARGIN_S = 60;
/** How long an unanswered or refused ice.request is taken as "none" before it is asked again. */
const NO_ICE_REMEMBERED_S = 60;

/** Gets every frame for its job; true when it took the frame as its own (an offer it answers). */
export type SignalListener = (frame: ServerSignal) => boolean | void;

export class JobSignaling {
  private readonly listeners = new Map<string, Set<SignalListener>>();
  private ice: { servers: IceServer[]; expiresAt: number } | undefined;
  private iceWaiters: Array<(servers: IceServer[] | undefined) => void> = [];

  constructor(
    private readonly hub: HubClient,
    private readonly log: Logger,
  ) {
    hub.on("message", (message) => {
      if (message.type === "signal") this.dispatch(message.job_id, message.signal);
      else if (message.type === "ice.servers") {
        this.ice = { servers: message.ice_servers, expiresAt: message.expires_at };
        this.answerIce(message.ice_servers);
      } else if (message.type === "error" && message.code === "ice_unavailable") this.answerIce(undefined);
    });
  }

  /**
   * Sends a signal for `jobId`; false when the hub is not connected now. `forJob`: a job of this
   * provider's whose inputs are `jobId`'s outputs, fetched from `jobId`'s provider (the hub checks).
   */
  send(jobId: string, signal: ClientSignal, forJob?: string): boolean {
    return this.hub.send({ v: HUB_PROTOCOL_VERSION, type: "signal", job_id: jobId, signal, ...(forJob ? { for_job: forJob } : {}) });
  }

  /** Every frame for `jobId` from now on, until the returned function is called. */
  subscribe(jobId: string, listener: SignalListener): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
    };
  }

  /** STUN/TURN servers with fresh credentials; none (host candidates only) when the hub has none or does not answer. */
  async iceServers(): Promise<IceServer[]> {
    if (this.ice && this.ice.expiresAt - ICE_RENEW_MARGIN_S > Date.now() / 1000) return this.ice.servers;
    const answer = new Promise<IceServer[] | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.iceWaiters = this.iceWaiters.filter((waiter) => waiter !== done);
        resolve(undefined);
      }, ICE_ANSWER_TIMEOUT_MS);
      const done = (servers: IceServer[] | undefined) => {
        clearTimeout(timer);
        resolve(servers);
      };
      this.iceWaiters.push(done);
    });
    if (!this.hub.send({ v: HUB_PROTOCOL_VERSION, type: "ice.request" })) this.answerIce(undefined);
    const servers = await answer;
    if (servers) return servers;
    this.log.warn("no STUN/TURN servers from the hub: peers connect on host candidates only");
    // Remembered for a while: asking again at every transfer would make each wait out the timeout.
    this.ice = { servers: [], expiresAt: Date.now() / 1000 + ICE_RENEW_MARGIN_S + NO_ICE_REMEMBERED_S };
    return [];
  }

  private answerIce(servers: IceServer[] | undefined): void {
    const waiters = this.iceWaiters;
    this.iceWaiters = [];
    for (const waiter of waiters) waiter(servers);
  }

  private dispatch(jobId: string, frame: ServerSignal): void {
    let taken = false;
    for (const listener of [...(this.listeners.get(jobId) ?? [])]) {
      try {
        if (listener(frame) === true) taken = true;
      } catch (error) {
        this.log.warn({ err: error, job: jobId }, "a signal listener failed");
      }
    }
    if (taken || frame.type !== "offer") return;
    this.log.debug({ job: jobId, from: frame.src }, "an offer no transfer here took; ignored");
    // A consumer's offer for outputs not kept here (expired, or never kept) is told so at once: it goes to
    // R2 now instead of after its connect timeout. (Only a consumer: the rendezvous takes a leave to it as a
    // reply to it alone, where one to the creator or a mediator would say this provider left the job.)
    if (isConsumerRole(frame.src)) {
      this.send(jobId, { v: SIGNALING_PROTOCOL_VERSION, type: "leave", dst: frame.src, payload: { reason: NOTHING_FOR_YOU } });
    }
  }
}
