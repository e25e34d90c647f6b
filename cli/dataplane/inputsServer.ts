// Serves a job's input files to its provider (or a drawn mediator) peer to
// peer: the provider offers through the job's rendezvous; each offer gets an
// answering transfer (a process of its own: p2p/node/isolated), the manifest,
// then the chunks until the receiver has it all.
// A peer that never connects, or a provider saying it will use the relay
// instead, calls `onRelayWanted` (the caller uploads to R2).
import type { IceServer } from "../../protocol/iceServers.ts";
import type { PeerRole, ServerSignal } from "../../protocol/signaling.ts";
import type { TransferManifest } from "../../protocol/transfer.ts";
import type { Route } from "../../p2p/core/transfer.ts";
import type { ServeJob } from "../../p2p/node/isolated/messages.ts";
import { openSignaledTransfer, type SignaledTransfer } from "../../p2p/node/isolated/signaledTransfer.ts";
import type { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import type { SignalingSocket } from "./signalingSocket.ts";

/** What the provider says when it goes to the relay instead (provider/dataplane/inputsFetch.ts). */
const USE_RELAY_REASON = "inputs: use the relay";
const SERVED_ROLES: ReadonlySet<PeerRole> = new Set(["provider", "mediator"]);

export interface InputsServerOptions {
  socket: SignalingSocket;
  jobId: string;
  manifest: TransferManifest;
  /** The folder each manifest path is under. */
  rootOf: ReadonlyMap<string, string>;
  iceServers: readonly IceServer[];
  connectTimeoutMs: number;
  bindAddress?: string;
  /** Transfer processes started ahead, so the provider's offer is answered without waiting for one to load. */
  processes?: SpareTransferProcesses;
  onRelayWanted(why: string): void;
  onServed?(transfer: { to: PeerRole; route: Route; bytes: number; ms: number }): void;
  onProgress?(sent: number, total: number): void;
}

export class InputsServer {
  private readonly sessions = new Map<PeerRole, SignaledTransfer<ServeJob>>();
  private readonly stop: () => void;

  constructor(private readonly options: InputsServerOptions) {
    this.stop = options.socket.subscribe((frame) => this.onFrame(frame));
  }

  close(): void {
    this.stop();
    for (const session of this.sessions.values()) session.transfer.close();
    this.sessions.clear();
  }

  private onFrame(frame: ServerSignal): void {
    if (frame.type === "leave" && frame.payload.reason === USE_RELAY_REASON) return this.options.onRelayWanted("the provider asked for the relay");
    if (frame.type === "offer" && SERVED_ROLES.has(frame.src)) return this.startSession(frame.src, frame);
    if ("src" in frame) this.sessions.get(frame.src)?.deliver(frame);
  }

  private startSession(remote: PeerRole, offer: ServerSignal): void {
    const { options } = this;
    this.sessions.get(remote)?.transfer.close();
    const job: ServeJob = {
      kind: "serve",
      peer: { iceServers: options.iceServers, connectTimeoutMs: options.connectTimeoutMs, name: `pond-inputs-${options.jobId}`, ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}) },
      manifest: options.manifest,
      source: { rootOf: Object.fromEntries(options.rootOf) },
    };
    const process = options.processes?.take();
    const session = openSignaledTransfer(job, {
      remote,
      send: (signal) => options.socket.send(signal),
      ...(process ? { process } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    this.sessions.set(remote, session);
    session.deliver(offer);
    void this.serve(remote, session).catch((error: unknown) => {
      if (this.sessions.get(remote) === session) options.onRelayWanted(`no peer-to-peer transfer to the ${remote}: ${(error as Error).message}`);
    });
  }

  private async serve(remote: PeerRole, session: SignaledTransfer<ServeJob>): Promise<void> {
    try {
      const result = await session.transfer.result;
      this.options.onServed?.({ to: remote, route: result.route, bytes: result.bytes, ms: result.ms });
    } finally {
      if (this.sessions.get(remote) === session) this.sessions.delete(remote);
      session.transfer.close();
    }
  }
}
