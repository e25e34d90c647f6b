// Serves a finished job's retained outputs peer to peer: any peer of the job
// that offers (the creator, by CLI or browser, or a drawn mediator) gets an
// answering transfer (in a process of its own: p2p/node/isolated), the transfer
// manifest, then the chunks until it has every file. A new offer from the same peer replaces its session, so a transfer that
// dropped resumes (the receiver asks only for what it lacks).
import type { Logger } from "pino";
import type { PeerRole, ServerSignal } from "../../protocol/signaling.ts";
import type { Route } from "../../p2p/core/transfer.ts";
import type { ServeJob } from "../../p2p/node/isolated/messages.ts";
import { openSignaledTransfer, type SignaledTransfer } from "../../p2p/node/isolated/signaledTransfer.ts";
import type { JobSignaling } from "./jobSignaling.ts";
import type { Retained } from "./retainedOutputs.ts";

/** Peers that may fetch outputs; the hub and rendezvous already checked who they are. */
const SERVED_ROLES: ReadonlySet<PeerRole> = new Set(["creator", "mediator"]);

export interface ServedTransfer {
  jobId: string;
  to: PeerRole;
  route: Route;
  bytes: number;
  ms: number;
}

export interface OutputsServerOptions {
  signaling: JobSignaling;
  log: Logger;
  /** Until a peer connection is up after an offer. */
  connectTimeoutMs: number;
  bindAddress?: string;
  /** A transfer that finished: for the job's metrics. */
  onServed?(transfer: ServedTransfer): void;
}

interface Watched {
  retained: Retained;
  stop: () => void;
  sessions: Map<PeerRole, SignaledTransfer<ServeJob>>;
  /** A peer's latest offer and what followed it, held while its session waits for ICE servers. */
  pending: Map<PeerRole, ServerSignal[]>;
}

export class OutputsServer {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly options: OutputsServerOptions) {}

  /** From now on, offers for this job are answered with its outputs. */
  watch(retained: Retained): void {
    const jobId = retained.record.job_id;
    this.unwatch(jobId);
    const entry: Watched = { retained, sessions: new Map(), pending: new Map(), stop: () => {} };
    entry.stop = this.options.signaling.subscribe(jobId, (frame) => this.onFrame(entry, frame));
    this.watched.set(jobId, entry);
  }

  unwatch(jobId: string): void {
    const entry = this.watched.get(jobId);
    if (!entry) return;
    this.watched.delete(jobId);
    entry.stop();
    for (const session of entry.sessions.values()) session.transfer.close();
  }

  /** Jobs whose outputs are served now. */
  get jobs(): string[] {
    return [...this.watched.keys()];
  }

  close(): void {
    for (const jobId of this.jobs) this.unwatch(jobId);
  }

  private onFrame(entry: Watched, frame: ServerSignal): void {
    if (frame.type === "offer" && SERVED_ROLES.has(frame.src)) return this.startSession(entry, frame.src, frame);
    if (!("src" in frame)) return;
    const waiting = entry.pending.get(frame.src);
    if (waiting) waiting.push(frame);
    else entry.sessions.get(frame.src)?.deliver(frame);
  }

  private startSession(entry: Watched, remote: PeerRole, offer: ServerSignal): void {
    const jobId = entry.retained.record.job_id;
    const { log, signaling, connectTimeoutMs, bindAddress } = this.options;
    entry.sessions.get(remote)?.transfer.close();
    entry.sessions.delete(remote);
    // Candidates that trickle in while the ICE servers are fetched wait with the offer.
    const frames = [offer];
    entry.pending.set(remote, frames);
    // Its own TURN allocation too: behind a symmetric NAT only a relay candidate works.
    void signaling.iceServers().then((iceServers) => {
      // Unwatched meanwhile, or a newer offer from the same peer took over.
      if (this.watched.get(jobId) !== entry || entry.pending.get(remote) !== frames) return;
      entry.pending.delete(remote);
      const { record, outputsDir } = entry.retained;
      const job: ServeJob = {
        kind: "serve",
        peer: { iceServers, connectTimeoutMs, name: `pond-outputs-${jobId}`, ...(bindAddress ? { bindAddress } : {}) },
        manifest: record.transfer,
        source: { root: outputsDir },
      };
      const session = openSignaledTransfer(job, { remote, send: (signal) => void signaling.send(jobId, signal) });
      entry.sessions.set(remote, session);
      for (const frame of frames) session.deliver(frame);
      void this.serve(entry, remote, session).catch((error: unknown) => log.info({ job: jobId, to: remote, err: (error as Error).message }, "an outputs transfer ended before it finished"));
    });
  }

  private async serve(entry: Watched, remote: PeerRole, session: SignaledTransfer<ServeJob>): Promise<void> {
    const jobId = entry.retained.record.job_id;
    try {
      const result = await session.transfer.result;
      this.options.log.info({ job: jobId, to: remote, route: result.route, bytes: result.bytes, ms: Math.round(result.ms) }, "served outputs peer to peer");
      this.options.onServed?.({ jobId, to: remote, route: result.route, bytes: result.bytes, ms: result.ms });
    } finally {
      if (entry.sessions.get(remote) === session) entry.sessions.delete(remote);
      session.transfer.close();
    }
  }
}
