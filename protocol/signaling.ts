// WebRTC signaling for one job's peers, relayed by the job's rendezvous object.
// JSON text frames, each with `type` and version `v`. A client names the peer it
// writes to (`dst`); the server stamps `src` from the authenticated connection
// (never from the frame) and relays. Peers are named by role: "creator",
// "provider", "mediator", and "c-…" for the provider of a later job that takes this
// job's outputs as inputs (consumerRole). The server only relays: it never reads the payload.
import { z } from "zod";
import { parseJsonFrame, type ParsedFrame } from "./jsonFrame.ts";

export const SIGNALING_PROTOCOL_VERSION = 1;

export const signalingLimits = {
  /** An SDP offer for a few data channels is ~1 KiB; 64 KiB leaves room and bounds memory. */
  maxSdpBytes: 64 * 1024,
  maxCandidateBytes: 1024,
  maxMidLength: 64,
  maxReasonLength: 200,
  maxErrorMessageLength: 500,
} as const;

const v = z.literal(SIGNALING_PROTOCOL_VERSION);

/** A peer's role in its job: lower-case letters, digits and '-'. */
export const PeerRole = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a peer role such as "creator" or "provider"');
export type PeerRole = z.infer<typeof PeerRole>;

const CONSUMER_ROLE = /^c-[0-9a-z]{1,30}$/;
/**
 * The role, in a job's rendezvous, of the provider of `consumingJobId`: a pipeline's next job, whose
 * inputs are this job's outputs, fetched peer to peer from this job's provider. Undefined for an id
 * too long to fit a role (the API's ids always fit).
 */
export function consumerRole(consumingJobId: string): `c-${string}` | undefined {
  const role = `c-${consumingJobId.slice(consumingJobId.indexOf("_") + 1)}` as const;
  return CONSUMER_ROLE.test(role) ? role : undefined;
}
export const isConsumerRole = (role: string): role is `c-${string}` => CONSUMER_ROLE.test(role);

const sdp = z.string().min(1).max(signalingLimits.maxSdpBytes);
export const OfferPayload = z.object({ sdp, type: z.literal("offer") });
export const AnswerPayload = z.object({ sdp, type: z.literal("answer") });
export const CandidatePayload = z.object({
  candidate: z.string().min(1).max(signalingLimits.maxCandidateBytes),
  mid: z.string().max(signalingLimits.maxMidLength),
});
export const LeavePayload = z.object({ reason: z.string().max(signalingLimits.maxReasonLength).optional() });
export type SessionDescriptionPayload = z.infer<typeof OfferPayload> | z.infer<typeof AnswerPayload>;
export type CandidatePayload = z.infer<typeof CandidatePayload>;

// ---- client → server ----

/**
 * One transfer's frames, both ways: the offering side names it, the answering side repeats the offer's.
 * A peer that gives up on a transfer and offers again at once must not take a late answer to the first
 * offer for the second's. Optional: a peer that sends none is matched by role alone, as before.
 */
export const SignalSession = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '_' or '-'");
const session = SignalSession.optional();

const OfferSignal = z.object({ v, type: z.literal("offer"), dst: PeerRole, session, payload: OfferPayload });
const AnswerSignal = z.object({ v, type: z.literal("answer"), dst: PeerRole, session, payload: AnswerPayload });
const CandidateSignal = z.object({ v, type: z.literal("candidate"), dst: PeerRole, session, payload: CandidatePayload });
const LeaveSignal = z.object({ v, type: z.literal("leave"), dst: PeerRole, session, payload: LeavePayload.default({}) });

export const ClientSignal = z.discriminatedUnion("type", [OfferSignal, AnswerSignal, CandidateSignal, LeaveSignal]);
export type ClientSignal = z.infer<typeof ClientSignal>;

// ---- server → client ----

/** The most of one source job's outputs a consumer may fetch peer to peer; a job that takes more fetches them from R2. */
export const MAX_CONSUMED_OUTPUTS = 256;

const src = PeerRole;
const RelayedOffer = OfferSignal.extend({
  src,
  /**
   * Stamped by the server on a consumer's offer (never taken from a client): the job's outputs, by path,
   * that the consumer's job takes as inputs. The provider serves those, and no other.
   */
  outputs: z.array(z.string().min(1).max(1024)).max(MAX_CONSUMED_OUTPUTS).optional(),
});
const RelayedAnswer = AnswerSignal.extend({ src });
const RelayedCandidate = CandidateSignal.extend({ src });
const RelayedLeave = LeaveSignal.extend({ src });
export const RelayedSignal = z.discriminatedUnion("type", [RelayedOffer, RelayedAnswer, RelayedCandidate, RelayedLeave]);
export type RelayedSignal = z.infer<typeof RelayedSignal>;

export const SignalErrorCode = z.enum([
  /** A message waited for its peer, which did not come in time; it was dropped. */
  "peer_absent",
  /** Too many messages are already waiting for that peer. */
  "queue_full",
  /** The frame did not parse; `message` says why. */
  "bad_message",
  /** That peer is not part of this job. */
  "unknown_peer",
]);
export type SignalErrorCode = z.infer<typeof SignalErrorCode>;

export const SignalError = z.object({
  v,
  type: z.literal("error"),
  code: SignalErrorCode,
  message: z.string().max(signalingLimits.maxErrorMessageLength),
  /** The peer the failed message was for, when there was one. */
  dst: PeerRole.optional(),
  /** The type of the message that failed, when known. */
  ref_type: z.enum(["offer", "answer", "candidate", "leave"]).optional(),
  /** The session the failed message named: a peer that has moved on to another transfer ignores it. */
  session: SignalSession.optional(),
});
export type SignalError = z.infer<typeof SignalError>;

/** A peer of the job joined (present) or left (not present). */
export const PeerPresence = z.object({ v, type: z.literal("peer"), peer: PeerRole, present: z.boolean() });
export type PeerPresence = z.infer<typeof PeerPresence>;

export const ServerSignal = z.discriminatedUnion("type", [RelayedOffer, RelayedAnswer, RelayedCandidate, RelayedLeave, SignalError, PeerPresence]);
export type ServerSignal = z.infer<typeof ServerSignal>;

/**
 * What the server sends on: the client's message stamped with the sender it authenticated, and a
 * consumer's offer with the outputs it may take (`consumed`, which the server looked up).
 */
export function relaySignal(message: ClientSignal, authenticatedSrc: PeerRole, consumed?: readonly string[]): RelayedSignal {
  if (message.type === "offer" && consumed) return { ...message, src: authenticatedSrc, outputs: [...consumed] };
  return { ...message, src: authenticatedSrc } as RelayedSignal;
}

/**
 * The server's error about a message a client sent: whom it was for, its type and the session it named,
 * so the sender can tell which of its messages failed (and one about a transfer it gave up on from the rest).
 */
export function signalErrorAbout(code: SignalErrorCode, message: string, about: { dst: PeerRole; type?: SignalError["ref_type"]; session?: string | undefined }): SignalError {
  return {
    v: SIGNALING_PROTOCOL_VERSION,
    type: "error",
    code,
    message: message.slice(0, signalingLimits.maxErrorMessageLength),
    dst: about.dst,
    ...(about.type ? { ref_type: about.type } : {}),
    ...(about.session ? { session: about.session } : {}),
  };
}

export function parseClientSignal(raw: string): ParsedFrame<ClientSignal> {
  return parseJsonFrame(ClientSignal, raw, `signaling v${SIGNALING_PROTOCOL_VERSION}`);
}

export function parseServerSignal(raw: string): ParsedFrame<ServerSignal> {
  return parseJsonFrame(ServerSignal, raw, `signaling v${SIGNALING_PROTOCOL_VERSION}`);
}
