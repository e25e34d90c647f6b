// An isolated transfer on a job's signaling (protocol/signaling.ts): what it says goes
// out as client signals for `remote`; relayed signals from `remote` come in.
// The transport (the provider's hub socket, the creator's WebSocket) is the caller's.
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { SIGNALING_PROTOCOL_VERSION, type ClientSignal, type PeerRole, type ServerSignal } from "../../../protocol/signaling.ts";
import type { Route } from "../../core/transfer.ts";
import { IsolatedTransfer } from "./isolatedTransfer.ts";
import type { TransferJob } from "./messages.ts";

export interface SignaledTransferOptions {
  /** The peer role at the other end: "creator", "provider", "mediator". */
  remote: PeerRole;
  send(signal: ClientSignal): void;
  onConnected?(route: Route): void;
  onProgress?(bytes: number, total: number): void;
  /**
   * A fetch waiting on one peer: when signaling says that peer is not there (a signal for it came
   * back as an error, or it left), end now rather than wait out the connect timeout.
   */
  endWhenRemoteAbsent?: boolean;
  /** A transfer process started ahead (transferProcesses.ts); else one is started now. */
  process?: ChildProcess;
  /**
   * This side's role, when it may hold more than one in the job (a provider fetching a source job's
   * outputs for two of its jobs at once is two consumers there): frames relayed to another are not this session's.
   */
  self?: PeerRole;
}

export interface SignaledTransfer<J extends TransferJob> {
  transfer: IsolatedTransfer<J>;
  /**
   * Hands in a frame from the job's signaling; frames from other peers are ignored, and errors and
   * presence too unless endWhenRemoteAbsent. Whether it was for this transfer.
   */
  deliver(frame: ServerSignal): boolean;
}

/**
 * A fetch offers; a serve answers. The fetch names its session (protocol/signaling.ts SignalSession) and the
 * serve repeats the one its offer named, so neither takes a frame of another transfer between the same peers.
 */
export function openSignaledTransfer<J extends TransferJob>(job: J, options: SignaledTransferOptions): SignaledTransfer<J> {
  const offers = job.kind === "fetch";
  let session: string | undefined = offers ? randomUUID() : undefined;
  // A frame that names another session is about another transfer between the same peers; unnamed ones pass.
  const ofAnotherSession = (named: string | undefined) => named !== undefined && session !== undefined && named !== session;
  const transfer = new IsolatedTransfer(job, {
    signal: (message) => options.send({ v: SIGNALING_PROTOCOL_VERSION, dst: options.remote, ...(session ? { session } : {}), ...message } as ClientSignal),
    ...(options.onConnected ? { onConnected: options.onConnected } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.process ? { process: options.process } : {}),
  });
  return {
    transfer,
    deliver(frame) {
      // An error about a message of another transfer (an offer given up on) says nothing about this one.
      if (frame.type === "error" && ofAnotherSession(frame.session)) return false;
      if (options.endWhenRemoteAbsent) {
        const absent = remoteAbsence(frame, options.remote);
        if (absent) {
          transfer.deliver({ type: "leave", payload: { reason: absent } });
          return true;
        }
      }
      if (frame.type !== "offer" && frame.type !== "answer" && frame.type !== "candidate" && frame.type !== "leave") return false;
      if (frame.src !== options.remote || (options.self !== undefined && frame.dst !== options.self)) return false;
      // An offer is for an answering peer, an answer for the offering one: another session's, not this one's.
      if ((frame.type === "offer" && offers) || (frame.type === "answer" && !offers)) return false;
      // A late answer to an offer given up on, say.
      if (frame.type === "offer") session = frame.session;
      else if (ofAnotherSession(frame.session)) return false;
      transfer.deliver(frame);
      return true;
    },
  };
}

/** Why `remote` is not there, when this frame says so: a signal for it came back as an error, or it left. */
function remoteAbsence(frame: ServerSignal, remote: PeerRole): string | undefined {
  if (frame.type === "error" && frame.dst === remote) return frame.message;
  if (frame.type === "peer" && frame.peer === remote && !frame.present) return `the ${remote} left`;
  return undefined;
}
