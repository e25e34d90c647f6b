// Two bare node-datachannel peers in this process, for the benchmark's ceiling:
// no Pond code between the library and the send loop. Signaling is a direct
// hand-over (candidates wait for the remote description, and the offering side's
// for the answer, as in p2p/node/peer.ts, so the connection comes up reliably).
import nodeDataChannel, { type DataChannel, type IceServer, type PeerConnection } from "node-datachannel";

export interface RawPeers {
  sender: DataChannel;
  receiver: DataChannel;
  close(): void;
}

export interface RawPeersOptions {
  iceServers?: IceServer[];
  iceTransportPolicy?: "all" | "relay";
  /** Rewrites each candidate on its way to the other side (e.g. to a delay proxy's front). */
  rewriteCandidate?: (candidate: string) => Promise<string>;
  /** Local addresses of the sending and the receiving peer. */
  bindAddresses?: [string, string];
}

export async function connectRawPeers({ iceServers = [], iceTransportPolicy = "all", rewriteCandidate = async (c) => c, bindAddresses = ["127.0.0.1", "127.0.0.1"] }: RawPeersOptions = {}): Promise<RawPeers> {
  const offerer = new nodeDataChannel.PeerConnection("raw-offer", { iceServers, iceTransportPolicy, bindAddress: bindAddresses[0] });
  const answerer = new nodeDataChannel.PeerConnection("raw-answer", { iceServers, iceTransportPolicy, bindAddress: bindAddresses[1] });
  const link = (to: PeerConnection, holdUntilAnswer: boolean) => {
    let remoteSet = false;
    let answered = !holdUntilAnswer;
    const early: Array<[string, string]> = [];
    const held: Array<[string, string]> = [];
    const add = ([candidate, mid]: [string, string]) => void rewriteCandidate(candidate).then((rewritten) => to.addRemoteCandidate(rewritten, mid));
    return {
      description(sdp: string, type: "offer" | "answer") {
        to.setRemoteDescription(sdp, type);
        remoteSet = true;
        early.splice(0).forEach(add);
      },
      candidate(candidate: string, mid: string) {
        if (!answered) held.push([candidate, mid]);
        else if (!remoteSet) early.push([candidate, mid]);
        else add([candidate, mid]);
      },
      answerArrived() {
        answered = true;
        held.splice(0).forEach((entry) => this.candidate(...entry));
      },
    };
  };
  const toAnswerer = link(answerer, true);
  const toOfferer = link(offerer, false);
  offerer.onLocalDescription((sdp, type) => toAnswerer.description(sdp, type as "offer"));
  answerer.onLocalDescription((sdp, type) => {
    toOfferer.description(sdp, type as "answer");
    toAnswerer.answerArrived();
  });
  offerer.onLocalCandidate((candidate, mid) => toAnswerer.candidate(candidate, mid));
  answerer.onLocalCandidate((candidate, mid) => toOfferer.candidate(candidate, mid));
  const received = new Promise<DataChannel>((resolve) => answerer.onDataChannel(resolve));
  const sender = offerer.createDataChannel("raw");
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the raw peers did not connect within 20 s")), 20_000);
    sender.onOpen(() => {
      clearTimeout(timer);
      resolve();
    });
    offerer.onStateChange((state) => state === "failed" && reject(new Error("the raw peers did not connect (ICE or DTLS failed)")));
  });
  const receiver = await received;
  return {
    sender,
    receiver,
    close() {
      sender.close();
      receiver.close();
      offerer.close();
      answerer.close();
    },
  };
}
