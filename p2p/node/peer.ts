// One WebRTC peer connection in Node (node-datachannel), for the transfer core.
// Signaling goes out through a callback and comes in through receiveSignal(),
// so any transport carries it: the job's Durable Object socket, or a test relay.
//
// What node-datachannel needs from its caller, learned the hard way:
// - ICE candidates that arrive before the remote description must wait for it;
// - every DataChannel must stay referenced (one that is garbage-collected closes);
// - `cleanup()` closes every peer connection in the process, so it is never called here;
// - the offering side must have the answer before the DTLS handshake reaches it:
//   libdatachannel checks the remote certificate against the remote description
//   and fails the handshake when there is none yet. ICE checks travel faster than
//   signaling, so the offering side sends its candidates only once the answer is
//   in: the answering side cannot reach it (and start DTLS) any earlier.
import nodeDataChannel, { type DataChannel, type PeerConnection, type SelectedCandidateInfo } from "node-datachannel";
import type { IceServer } from "../../protocol/iceServers.ts";
import type { CandidatePayload, SessionDescriptionPayload } from "../../protocol/signaling.ts";
import type { Channel } from "../core/channel.ts";
import { PeerConnectFailedError, PeerConnectTimeoutError, PeerLeftError, TransferError } from "../core/errors.ts";
import { PeerState } from "../core/peerState.ts";
import { sdpFingerprint, type DtlsFingerprint } from "../core/sdpFingerprint.ts";
import type { Route, TransferPeer } from "../core/transfer.ts";
import { NodeChannel } from "./channel.ts";
import { toNodeIceServers } from "./iceServers.ts";

/** What this peer asks the caller to deliver to the other peer. */
export type OutgoingSignal = { type: "offer" | "answer"; payload: SessionDescriptionPayload } | { type: "candidate"; payload: CandidatePayload };
/** What the caller hands in from the other peer (a relayed signaling envelope fits as is). */
export type IncomingSignal = OutgoingSignal | { type: "leave"; payload?: { reason?: string } };

export interface NodePeerOptions {
  /** "offer" opens the data channels and sends the offer; "answer" waits for one. */
  role: "offer" | "answer";
  /** Delivers one message to the other peer. */
  signal(message: OutgoingSignal): void;
  iceServers?: readonly IceServer[];
  /** Data channels the offering side opens; several can carry more than one. Default 1. */
  channels?: number;
  /** Until the connection and a first data channel are up; then `connected` rejects so the caller can fall back. Default 10 s. */
  connectTimeoutMs?: number;
  /** "relay" uses TURN only. */
  iceTransportPolicy?: "all" | "relay";
  /** Gather candidates on this local address only (e.g. 127.0.0.1 in tests). */
  bindAddress?: string;
  portRange?: { begin: number; end: number };
  /** Shown in node-datachannel's logs. */
  name?: string;
}

export interface CandidatePair {
  local: SelectedCandidateInfo;
  remote: SelectedCandidateInfo;
}

/** Early candidates kept while the remote description is missing; a real peer sends a few dozen at most. */
const MAX_QUEUED_CANDIDATES = 256;
export const CHANNEL_LABEL_PREFIX = "pond-";

export class NodePeer extends PeerState<NodeChannel> implements TransferPeer {
  private readonly pc: PeerConnection;
  private readonly queuedCandidates: CandidatePayload[] = [];
  /** The offering side's own candidates, held until the answer is in (see the top of this file). */
  private heldCandidates: CandidatePayload[] | undefined;
  private remoteSdp: string | undefined;
  /** Remote candidates the connection refused, for diagnostics. */
  readonly refusedCandidates: string[] = [];
  private pair: CandidatePair | undefined;
  private isConnected = false;
  private iceCompleted = false;
  private readonly iceCompletedListeners = new Set<() => void>();
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(private readonly options: NodePeerOptions) {
    super();
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    this.timer = setTimeout(() => this.fail(new PeerConnectTimeoutError(timeoutMs)), timeoutMs);
    this.pc = new nodeDataChannel.PeerConnection(options.name ?? `pond-${options.role}`, {
      iceServers: toNodeIceServers(options.iceServers ?? []),
      ...(options.iceTransportPolicy ? { iceTransportPolicy: options.iceTransportPolicy } : {}),
      ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
      ...(options.portRange ? { portRangeBegin: options.portRange.begin, portRangeEnd: options.portRange.end } : {}),
    });
    this.pc.onLocalDescription((sdp, type) => {
      if (type === "offer" || type === "answer") this.send({ type, payload: { sdp, type } as SessionDescriptionPayload });
    });
    this.pc.onLocalCandidate((candidate, mid) => {
      if (this.heldCandidates) this.heldCandidates.push({ candidate, mid });
      else this.send({ type: "candidate", payload: { candidate, mid } });
    });
    this.pc.onStateChange((state) => this.onStateChange(state));
    this.pc.onIceStateChange((state) => {
      if (state !== "completed") return;
      this.iceCompleted = true;
      this.selectedCandidatePair();
      for (const listener of [...this.iceCompletedListeners]) listener();
    });
    this.pc.onDataChannel((dc) => this.adopt(dc));
    if (options.role === "offer") {
      this.heldCandidates = [];
      // Creating the first channel starts negotiation: node-datachannel emits the offer.
      for (let i = 0; i < Math.max(1, options.channels ?? 1); i++) this.adopt(this.pc.createDataChannel(`${CHANNEL_LABEL_PREFIX}${i}`));
    }
  }

  /** Hands in a message from the other peer. Never throws: a message the connection refuses fails `connected`. */
  receiveSignal(message: IncomingSignal): void {
    if (this.closed) return;
    try {
      if (message.type === "leave") return this.fail(new PeerLeftError(message.payload?.reason));
      if (message.type === "candidate") {
        if (this.remoteSdp === undefined) {
          if (this.queuedCandidates.length < MAX_QUEUED_CANDIDATES) this.queuedCandidates.push(message.payload);
          return;
        }
        return this.addCandidate(message.payload);
      }
      const expected = this.options.role === "offer" ? "answer" : "offer";
      if (message.type !== expected) return this.fail(new PeerConnectFailedError(`the ${this.options.role === "offer" ? "offering" : "answering"} peer got an ${message.type}; it expects an ${expected}`));
      if (this.remoteSdp !== undefined) return; // a repeated description (signaling retried): the first one stands
      this.pc.setRemoteDescription(message.payload.sdp, message.type);
      this.remoteSdp = message.payload.sdp;
      for (const candidate of this.queuedCandidates.splice(0)) this.addCandidate(candidate);
      const held = this.heldCandidates ?? [];
      this.heldCandidates = undefined;
      for (const candidate of held) this.send({ type: "candidate", payload: candidate });
    } catch (error) {
      this.fail(new PeerConnectFailedError(`the remote ${message.type} was refused: ${(error as Error).message}`, { cause: error }));
    }
  }

  /** Resolves once `count` data channels are open (the offering side asked for them in `channels`). */
  async whenChannels(count: number): Promise<readonly Channel[]> {
    await this.connected;
    if (this.channels().length >= count) return this.channels();
    return new Promise((resolve, reject) => {
      const stopChannel = this.onChannel(() => {
        if (this.channels().length < count) return;
        stopChannel();
        stopClose();
        resolve(this.channels());
      });
      const stopClose = this.onClose(() => {
        stopChannel();
        reject(this.failure ?? new PeerLeftError("the connection closed"));
      });
    });
  }

  /** "turn" when either end of the selected candidate pair is a TURN relay, else "direct". */
  route(): Route {
    const pair = this.selectedCandidatePair();
    if (!pair) throw new TransferError("connect_failed", "no candidate pair was selected: the peer never connected");
    return pair.local.type === "relay" || pair.remote.type === "relay" ? "turn" : "direct";
  }

  /**
   * The pair ICE settled on, once the controlling side has nominated one; undefined if that
   * does not happen within `timeoutMs` or the connection closes. Until then data flows on the
   * best pair that has answered so far, which can be a TURN pair while hole punching is still
   * under way (libjuice nominates about 2 s after its first working pair).
   */
  async nominatedPair(timeoutMs: number): Promise<CandidatePair | undefined> {
    if (!this.iceCompleted && !this.closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.iceCompletedListeners.delete(done);
          stopClose();
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        this.iceCompletedListeners.add(done);
        const stopClose = this.onClose(done);
      });
    }
    return this.iceCompleted ? this.selectedCandidatePair() : undefined;
  }

  selectedCandidatePair(): CandidatePair | undefined {
    if (!this.closed) this.pair = this.pc.getSelectedCandidatePair() ?? this.pair;
    return this.pair;
  }

  /**
   * Bytes SCTP took from this side's channels and delivered to them: what one side sent and the
   * other has not received yet is what the association holds in flight (and in its buffers).
   */
  sctpBytes(): { sent: number; received: number } {
    if (this.closed) return { sent: 0, received: 0 };
    return { sent: this.pc.bytesSent(), received: this.pc.bytesReceived() };
  }

  /** This side's DTLS fingerprint, to publish through authenticated signaling. */
  localFingerprint(): DtlsFingerprint | undefined {
    const sdp = this.closed ? undefined : this.pc.localDescription()?.sdp;
    return sdp === undefined ? undefined : sdpFingerprint(sdp);
  }

  /** The fingerprint the other side's SDP announced; DTLS has held the connection to it. */
  remoteFingerprint(): DtlsFingerprint | undefined {
    return this.remoteSdp === undefined ? undefined : sdpFingerprint(this.remoteSdp);
  }

  /** Closes every channel and the connection. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.selectedCandidatePair();
    this.closed = true;
    clearTimeout(this.timer);
    for (const channel of this.allChannels) channel.close();
    this.pc.close();
    this.notifyClosed();
  }

  /**
   * One candidate the connection refuses (unresolvable, or arriving while
   * libdatachannel is tearing down its ICE transport) does not end the
   * connection, as in browsers: ICE fails or the connect timeout fires if no
   * candidate works.
   */
  private addCandidate(candidate: CandidatePayload): void {
    try {
      this.pc.addRemoteCandidate(candidate.candidate, candidate.mid);
    } catch (error) {
      this.refusedCandidates.push(`${candidate.candidate}: ${(error as Error).message}`);
    }
  }

  private adopt(dc: DataChannel): void {
    const channel = new NodeChannel(dc);
    this.allChannels.push(channel);
    const opened = () => {
      if (this.channelOpened(channel)) this.maybeConnected();
    };
    // A channel the other side opened arrives open; one made here opens later.
    if (dc.isOpen()) opened();
    else dc.onOpen(opened);
  }

  private onStateChange(state: string): void {
    if (state === "connected") {
      this.isConnected = true;
      this.selectedCandidatePair();
      this.maybeConnected();
    } else if (state === "failed") {
      this.fail(new PeerConnectFailedError("ICE or DTLS failed: no candidate pair works between these peers"));
    } else if (state === "closed") {
      this.fail(new PeerLeftError("the connection closed"));
    }
  }

  private maybeConnected(): void {
    if (!this.isConnected || this.openChannels.length === 0 || this.closed) return;
    clearTimeout(this.timer);
    this.resolveConnection();
  }

  private send(message: OutgoingSignal): void {
    if (this.closed) return;
    try {
      this.options.signal(message);
    } catch (error) {
      this.fail(new PeerConnectFailedError(`signaling could not send the ${message.type}: ${(error as Error).message}`, { cause: error }));
    }
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.failConnected(error);
    this.close();
  }
}
