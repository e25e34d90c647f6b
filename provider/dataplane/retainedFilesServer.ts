// Serves files a job left with this provider, peer to peer: its retained outputs to
// its creator (by CLI or browser) and to the providers of later jobs that take them as
// inputs, its retained inputs to a mediator drawn for a challenge. A peer in `roles` that offers gets an answering transfer (in a
// process of its own: p2p/node/isolated), the transfer manifest, then the chunks
// until it has every file. A new offer from the same peer replaces its session,
// so a transfer that dropped resumes (the receiver asks only for what it lacks).
// Each kind of file has its own server and roles: a creator's or a consumer's offer to
// the provider is for the outputs, a mediator's for the inputs, so no offer gets two answers.
import type { Logger } from "pino";
import { isConsumerRole, type PeerRole, type ServerSignal } from "../../protocol/signaling.ts";
import type { TransferManifest } from "../../protocol/transfer.ts";
import type { Route } from "../../p2p/core/transfer.ts";
import type { ServeJob } from "../../p2p/node/isolated/messages.ts";
import { openSignaledTransfer, type SignaledTransfer } from "../../p2p/node/isolated/signaledTransfer.ts";
import type { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import type { JobSignaling } from "./jobSignaling.ts";

export interface ServedTransfer {
  jobId: string;
  to: PeerRole;
  route: Route;
  bytes: number;
  ms: number;
}

/** A job's kept files: the manifest's paths are relative to `root`. */
export interface KeptFiles {
  jobId: string;
  manifest: TransferManifest;
  root: string;
}

export interface RetainedFilesServerOptions {
  /** Whether a peer in this role may fetch these files; the hub and rendezvous already checked who holds it. */
  serves(role: PeerRole): boolean;
  /** What the files are, in the transfer's name and the logs: "outputs", "inputs". */
  what: string;
  signaling: JobSignaling;
  log: Logger;
  /** Until a peer connection is up after an offer. */
  connectTimeoutMs: number;
  bindAddress?: string;
  /** Transfer processes started ahead, so an answer does not wait for one to load. */
  processes?: SpareTransferProcesses;
  /** A transfer that finished: for the job's metrics. */
  onServed?(transfer: ServedTransfer): void;
}

interface Watched {
  kept: KeptFiles;
  stop: () => void;
  sessions: Map<PeerRole, SignaledTransfer<ServeJob>>;
  /** A peer's latest offer and what followed it, held while its session waits for ICE servers. */
  pending: Map<PeerRole, ServerSignal[]>;
}

export class RetainedFilesServer {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly options: RetainedFilesServerOptions) {}

  /** From now on, offers for this job from a peer in `roles` are answered with these files. */
  watch(kept: KeptFiles): void {
    this.unwatch(kept.jobId);
    const entry: Watched = { kept, sessions: new Map(), pending: new Map(), stop: () => {} };
    entry.stop = this.options.signaling.subscribe(kept.jobId, (frame) => this.onFrame(entry, frame));
    this.watched.set(kept.jobId, entry);
  }

  unwatch(jobId: string): void {
    const entry = this.watched.get(jobId);
    if (!entry) return;
    this.watched.delete(jobId);
    entry.stop();
    for (const session of entry.sessions.values()) session.transfer.close();
  }

  /** Jobs whose files are served now. */
  get jobs(): string[] {
    return [...this.watched.keys()];
  }

  close(): void {
    for (const jobId of this.jobs) this.unwatch(jobId);
  }

  /** True for an offer it answers (JobSignaling turns away a consumer's offer nobody takes). */
  private onFrame(entry: Watched, frame: ServerSignal): boolean | void {
    if (frame.type === "offer") return this.options.serves(frame.src) && this.startSession(entry, frame.src, frame);
    if (!("src" in frame) || !this.options.serves(frame.src)) return;
    const waiting = entry.pending.get(frame.src);
    if (waiting) waiting.push(frame);
    else entry.sessions.get(frame.src)?.deliver(frame);
  }

  /** Whether it answers: not a consumer's offer without the outputs it may take. */
  private startSession(entry: Watched, remote: PeerRole, offer: Extract<ServerSignal, { type: "offer" }>): boolean {
    const { jobId } = entry.kept;
    const manifest = servedManifest(entry.kept.manifest, offer);
    if (!manifest) return false;
    const { log, signaling, connectTimeoutMs, bindAddress, what } = this.options;
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
      const job: ServeJob = {
        kind: "serve",
        peer: { iceServers, connectTimeoutMs, name: `pond-${what}-${jobId}`, ...(bindAddress ? { bindAddress } : {}) },
        manifest,
        source: { root: entry.kept.root },
      };
      const process = this.options.processes?.take();
      const session = openSignaledTransfer(job, { remote, send: (signal) => void signaling.send(jobId, signal), ...(process ? { process } : {}) });
      entry.sessions.set(remote, session);
      for (const frame of frames) session.deliver(frame);
      void this.serve(entry, remote, session).catch((error: unknown) => log.info({ job: jobId, to: remote, err: (error as Error).message }, `a transfer of ${what} ended before it finished`));
    });
    return true;
  }

  private async serve(entry: Watched, remote: PeerRole, session: SignaledTransfer<ServeJob>): Promise<void> {
    const { jobId } = entry.kept;
    try {
      const result = await session.transfer.result;
      this.options.log.info({ job: jobId, to: remote, route: result.route, bytes: result.bytes, ms: Math.round(result.ms) }, `served ${this.options.what} peer to peer`);
      this.options.onServed?.({ jobId, to: remote, route: result.route, bytes: result.bytes, ms: result.ms });
    } finally {
      if (entry.sessions.get(remote) === session) entry.sessions.delete(remote);
      session.transfer.close();
    }
  }
}

/**
 * What an offer is served: every kept file, or for a consumer (a pipeline's next job's provider) only
 * the outputs its job takes, which the server stamped on its offer; a consumer's offer without them, none.
 */
function servedManifest(manifest: TransferManifest, offer: Extract<ServerSignal, { type: "offer" }>): TransferManifest | undefined {
  if (!isConsumerRole(offer.src)) return manifest;
  if (!offer.outputs) return undefined;
  const taken = new Set(offer.outputs);
  return { ...manifest, files: manifest.files.filter((file) => taken.has(file.path)) };
}
