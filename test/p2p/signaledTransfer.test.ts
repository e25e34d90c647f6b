// A fetch on a job's signaling, in a transfer process of its own: when the
// signaling says its peer is not there, it ends at once instead of waiting out
// its connect timeout; a serving session, and frames about other peers, do not.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openSignaledTransfer, type SignaledTransfer } from "../../p2p/node/isolated/signaledTransfer.ts";
import type { FetchJob } from "../../p2p/node/isolated/messages.ts";
import { SIGNALING_PROTOCOL_VERSION, type ClientSignal, type ServerSignal } from "../../protocol/signaling.ts";
import { eventually } from "../helpers/eventually.ts";
import { useTempDir } from "../helpers/tempDir.ts";

const tempDir = useTempDir("p2p-signaled");
const v = SIGNALING_PROTOCOL_VERSION;
const sessions: SignaledTransfer<FetchJob>[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) {
    session.transfer.close();
    await session.transfer.result.catch(() => {});
  }
});

/** Connects to nobody: only a frame it is handed can end it before its 20 s connect timeout. What it sends goes to `sent`. */
function fetchFromProvider(endWhenRemoteAbsent: boolean, self?: string, sent: ClientSignal[] = []): SignaledTransfer<FetchJob> {
  const job: FetchJob = { kind: "fetch", peer: { iceServers: [], connectTimeoutMs: 20_000, bindAddress: "127.0.0.1", name: "test-signaled" }, dir: join(tempDir(), "to"), expected: [] };
  const session = openSignaledTransfer(job, { remote: "provider", endWhenRemoteAbsent, send: (signal) => void sent.push(signal), ...(self ? { self } : {}) });
  sessions.push(session);
  return session;
}

/** Whether the transfer has ended within `ms`. */
async function endsWithin(session: SignaledTransfer<FetchJob>, ms: number): Promise<boolean> {
  const ended = session.transfer.result.then(() => true, () => true);
  return Promise.race([ended, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
}

describe("behavior: a signaled fetch and its absent peer", () => {
  it("ends when a signal for its peer comes back as an error, saying why", { timeout: 30_000 }, async () => {
    const session = fetchFromProvider(true);
    const error: ServerSignal = { v, type: "error", code: "peer_absent", message: "the provider did not come for it within 15 s", dst: "provider", ref_type: "offer" };
    expect(session.deliver(error)).toBe(true);
    await expect(session.transfer.result).rejects.toMatchObject({ code: "peer_left", message: expect.stringMatching(/the provider did not come for it/) });
  });

  it("ends when its peer leaves the job's signaling", { timeout: 30_000 }, async () => {
    const session = fetchFromProvider(true);
    expect(session.deliver({ v, type: "peer", peer: "provider", present: false })).toBe(true);
    await expect(session.transfer.result).rejects.toMatchObject({ code: "peer_left", message: expect.stringMatching(/the provider left/) });
  });

  it("goes on when the frames are about another peer, or its peer arrives", { timeout: 30_000 }, async () => {
    const session = fetchFromProvider(true);
    expect(session.deliver({ v, type: "peer", peer: "mediator", present: false })).toBe(false);
    expect(session.deliver({ v, type: "error", code: "peer_absent", message: "gone", dst: "mediator" })).toBe(false);
    expect(session.deliver({ v, type: "peer", peer: "provider", present: true })).toBe(false);
    expect(await endsWithin(session, 1_500)).toBe(false);
  });

  it("as one of two consumers of a job on one daemon, takes the frames relayed to its own role only", { timeout: 30_000 }, async () => {
    const session = fetchFromProvider(true, "c-first");
    const answer = (dst: string): ServerSignal => ({ v, type: "answer", src: "provider", dst, payload: { type: "answer", sdp: "v=0 test" } });
    const leave = (dst: string): ServerSignal => ({ v, type: "leave", src: "provider", dst, payload: { reason: "done" } });
    expect(session.deliver(answer("c-second"))).toBe(false);
    expect(session.deliver(leave("c-second"))).toBe(false);
    expect(await endsWithin(session, 1_000)).toBe(false);
    expect(session.deliver(leave("c-first"))).toBe(true);
    await expect(session.transfer.result).rejects.toMatchObject({ code: "peer_left" });
  });

  it("names its session in what it sends, and takes no error about a message of another session as its peer's absence", { timeout: 30_000 }, async () => {
    const sent: ClientSignal[] = [];
    const session = fetchFromProvider(true, undefined, sent);
    const offer = await eventually(async () => sent.find((signal) => signal.type === "offer"), { what: "the fetch's offer" });
    expect(offer.session).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    const absent = { v, type: "error", code: "peer_absent", message: "the provider did not come for it", dst: "provider", ref_type: "offer" } as const;
    // About the offer of a fetch given up on: not this one's.
    expect(session.deliver({ ...absent, session: "an-earlier-session" })).toBe(false);
    expect(await endsWithin(session, 1_000)).toBe(false);
    expect(session.deliver({ ...absent, session: offer.session! })).toBe(true);
    await expect(session.transfer.result).rejects.toMatchObject({ code: "peer_left" });
  });

  it("without endWhenRemoteAbsent, leaves absence to its caller", { timeout: 30_000 }, async () => {
    const session = fetchFromProvider(false);
    expect(session.deliver({ v, type: "peer", peer: "provider", present: false })).toBe(false);
    expect(await endsWithin(session, 1_500)).toBe(false);
  });
});
