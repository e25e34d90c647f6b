// Serves a job's input files to its provider (or a drawn mediator) peer to
// peer: the provider offers through the job's rendezvous; each offer gets an
// answering peer, the manifest, then sendFiles until the receiver has it all.
// A peer that never connects, or a provider saying it will use the relay
// instead, calls `onRelayWanted` (the caller uploads to R2).
import type { IceServer } from "../../protocol/iceServers.ts";
import type { PeerRole, ServerSignal } from "../../protocol/signaling.ts";
import type { TransferManifest } from "../../protocol/transfer.ts";
import { sendManifest } from "../../p2p/core/manifestExchange.ts";
import type { ChunkSource } from "../../p2p/core/storage.ts";
import { sendFiles, type Route } from "../../p2p/core/transfer.ts";
import { openSignaledPeer, type SignaledPeer } from "../../p2p/node/signaledPeer.ts";
import type { SignalingSocket } from "./signalingSocket.ts";

/** What the provider says when it goes to the relay instead (provider/dataplane/inputsFetch.ts). */
const USE_RELAY_REASON = "inputs: use the relay";
const SERVED_ROLES: ReadonlySet<PeerRole> = new Set(["provider", "mediator"]);

export interface InputsServerOptions {
  socket: SignalingSocket;
  jobId: string;
  manifest: TransferManifest;
  source: ChunkSource;
  iceServers: readonly IceServer[];
  connectTimeoutMs: number;
  bindAddress?: string;
  onRelayWanted(why: string): void;
  onServed?(transfer: { to: PeerRole; route: Route; bytes: number; ms: number }): void;
  onProgress?(sent: number, total: number): void;
}

export class InputsServer {
  private readonly sessions = new Map<PeerRole, SignaledPeer>();
  private readonly stop: () => void;

  constructor(private readonly options: InputsServerOptions) {
    this.stop = options.socket.subscribe((frame) => this.onFrame(frame));
  }

  close(): void {
    this.stop();
    for (const session of this.sessions.values()) session.peer.close();
    this.sessions.clear();
  }

  private onFrame(frame: ServerSignal): void {
    if (frame.type === "leave" && frame.payload.reason === USE_RELAY_REASON) return this.options.onRelayWanted("the provider asked for the relay");
    if (frame.type === "offer" && SERVED_ROLES.has(frame.src)) return this.startSession(frame.src, frame);
    if ("src" in frame) this.sessions.get(frame.src)?.deliver(frame);
  }

  private startSession(remote: PeerRole, offer: ServerSignal): void {
    const { options } = this;
    this.sessions.get(remote)?.peer.close();
    const session = openSignaledPeer({
      role: "answer",
      remote,
      send: (signal) => options.socket.send(signal),
      iceServers: options.iceServers,
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
      name: `pond-inputs-${options.jobId}`,
    });
    this.sessions.set(remote, session);
    session.deliver(offer);
    void this.serve(remote, session).catch((error: unknown) => {
      if (this.sessions.get(remote) === session) options.onRelayWanted(`no peer-to-peer transfer to the ${remote}: ${(error as Error).message}`);
    });
  }

  private async serve(remote: PeerRole, session: SignaledPeer): Promise<void> {
    const { peer } = session;
    const { manifest, source } = this.options;
    try {
      await peer.connected;
      sendManifest(peer.channels()[0]!, manifest);
      const total = manifest.files.reduce((sum, file) => sum + file.size, 0);
      const result = await sendFiles(peer, manifest, source, { onProgress: (progress) => this.options.onProgress?.(progress.bytesSent, total) });
      this.options.onServed?.({ to: remote, route: result.route, bytes: result.bytes, ms: result.ms });
    } finally {
      if (this.sessions.get(remote) === session) this.sessions.delete(remote);
      peer.close();
    }
  }
}
