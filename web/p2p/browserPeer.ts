// One WebRTC peer connection in the browser (RTCPeerConnection), for the
// transfer core: the browser's counterpart of p2p/node/peer.ts. The page always
// offers and the provider's node-datachannel answers: libdatachannel fails a
// DTLS handshake that reaches its offering side before the answer does, while
// a browser offerer copes. Signaling goes out through a callback and comes in
// through receiveSignal(), in the same shapes as NodePeer's.
import { PeerConnectFailedError, PeerConnectTimeoutError, PeerLeftError, TransferError } from "../../p2p/core/errors.ts";
import { PeerState } from "../../p2p/core/peerState.ts";
import type { Route, TransferPeer } from "../../p2p/core/transfer.ts";
import type { IceServer } from "../../protocol/iceServers.ts";
import type { CandidatePayload, SessionDescriptionPayload } from "../../protocol/signaling.ts";
import { RtcChannel } from "./rtcChannel.ts";

export type OutgoingSignal = { type: "offer"; payload: SessionDescriptionPayload } | { type: "candidate"; payload: CandidatePayload };
export type IncomingSignal = { type: "offer" | "answer"; payload: SessionDescriptionPayload } | { type: "candidate"; payload: CandidatePayload } | { type: "leave"; payload?: { reason?: string } };

export interface BrowserPeerOptions {
  signal(message: OutgoingSignal): void;
  iceServers?: readonly IceServer[];
  /** Until the connection and a data channel are up. Default 10 s. */
  connectTimeoutMs?: number;
}

/** Early candidates kept while the answer is missing; a real peer sends a few dozen at most. */
const MAX_QUEUED_CANDIDATES = 256;

/** `connected` resolves once a data channel is open and the route known. */
export class BrowserPeer extends PeerState<RtcChannel> implements TransferPeer {
  private readonly pc: RTCPeerConnection;
  private readonly queuedCandidates: CandidatePayload[] = [];
  private hasAnswer = false;
  private selectedRoute: Route | undefined;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(private readonly options: BrowserPeerOptions) {
    super();
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    this.timer = setTimeout(() => this.fail(new PeerConnectTimeoutError(timeoutMs)), timeoutMs);
    this.pc = new RTCPeerConnection({ iceServers: (options.iceServers ?? []).map((server) => ({ ...server })) });
    this.pc.addEventListener("icecandidate", (event) => {
      // The end of gathering (a null or empty candidate) is not sent: the other side needs no word of it.
      if (event.candidate?.candidate) this.send({ type: "candidate", payload: { candidate: event.candidate.candidate, mid: event.candidate.sdpMid ?? "0" } });
    });
    this.pc.addEventListener("connectionstatechange", () => this.onStateChange(this.pc.connectionState));
    const dc = this.pc.createDataChannel("pond-0", { ordered: true });
    this.adopt(dc);
    void this.offer();
  }

  /** Hands in a message from the other peer. Never throws: one the connection refuses fails `connected`. */
  receiveSignal(message: IncomingSignal): void {
    if (this.closed) return;
    if (message.type === "leave") return this.fail(new PeerLeftError(message.payload?.reason));
    if (message.type === "candidate") {
      if (!this.hasAnswer) {
        if (this.queuedCandidates.length < MAX_QUEUED_CANDIDATES) this.queuedCandidates.push(message.payload);
        return;
      }
      return void this.addCandidate(message.payload);
    }
    if (message.type !== "answer") return this.fail(new PeerConnectFailedError(`the offering peer got an ${message.type}; it expects an answer`));
    if (this.hasAnswer) return; // a repeated answer (signaling retried): the first one stands
    this.hasAnswer = true;
    void this.pc
      .setRemoteDescription({ type: "answer", sdp: message.payload.sdp })
      .then(() => Promise.all(this.queuedCandidates.splice(0).map((candidate) => this.addCandidate(candidate))))
      .catch((error: Error) => this.fail(new PeerConnectFailedError(`the remote answer was refused: ${error.message}`)));
  }

  /** "turn" when either end of the selected candidate pair is a TURN relay, else "direct". Known once `connected` resolves. */
  route(): Route {
    if (!this.selectedRoute) throw new TransferError("connect_failed", "no candidate pair was selected: the peer never connected");
    return this.selectedRoute;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    for (const channel of this.allChannels) channel.close();
    this.pc.close();
    this.notifyClosed();
  }

  private async offer(): Promise<void> {
    try {
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      this.send({ type: "offer", payload: { type: "offer", sdp: this.pc.localDescription?.sdp ?? offer.sdp ?? "" } });
    } catch (error) {
      this.fail(new PeerConnectFailedError(`could not make an offer: ${(error as Error).message}`));
    }
  }

  /** libdatachannel writes candidates as SDP attribute lines ("a=candidate:…"); the browser takes the value alone. */
  private async addCandidate(candidate: CandidatePayload): Promise<void> {
    try {
      await this.pc.addIceCandidate({ candidate: candidate.candidate.replace(/^a=/, ""), sdpMid: candidate.mid });
    } catch {
      // One unusable candidate does not end the connection: ICE fails, or the timeout fires, if none works.
    }
  }

  private adopt(dc: RTCDataChannel): void {
    const channel = new RtcChannel(dc);
    this.allChannels.push(channel);
    dc.addEventListener("open", () => {
      if (this.channelOpened(channel)) void this.maybeConnected();
    });
  }

  private onStateChange(state: RTCPeerConnectionState): void {
    if (state === "connected") void this.maybeConnected();
    else if (state === "failed") this.fail(new PeerConnectFailedError("ICE or DTLS failed: no candidate pair works between these peers"));
    else if (state === "closed") this.fail(new PeerLeftError("the connection closed"));
  }

  private async maybeConnected(): Promise<void> {
    if (this.pc.connectionState !== "connected" || this.openChannels.length === 0 || this.closed || this.selectedRoute) return;
    const route = await selectedRoute(this.pc);
    if (this.closed || this.selectedRoute) return;
    this.selectedRoute = route;
    clearTimeout(this.timer);
    this.resolveConnection();
  }

  private send(message: OutgoingSignal): void {
    if (this.closed) return;
    try {
      this.options.signal(message);
    } catch (error) {
      this.fail(new PeerConnectFailedError(`signaling could not send the ${message.type}: ${(error as Error).message}`));
    }
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.failConnected(error);
    this.close();
  }
}

/** The selected pair's route from the connection's stats: the transport names the pair, the pair names its two candidates. */
async function selectedRoute(pc: RTCPeerConnection): Promise<Route> {
  const stats = await pc.getStats();
  const byId = new Map<string, Record<string, unknown>>();
  stats.forEach((entry: Record<string, unknown>) => byId.set(entry.id as string, entry));
  let pair: Record<string, unknown> | undefined;
  for (const entry of byId.values()) {
    if (entry.type === "transport" && typeof entry.selectedCandidatePairId === "string") pair = byId.get(entry.selectedCandidatePairId);
  }
  pair ??= [...byId.values()].find((entry) => entry.type === "candidate-pair" && entry.state === "succeeded" && entry.nominated === true);
  const local = pair ? byId.get(pair.localCandidateId as string) : undefined;
  const remote = pair ? byId.get(pair.remoteCandidateId as string) : undefined;
  return local?.candidateType === "relay" || remote?.candidateType === "relay" ? "turn" : "direct";
}
