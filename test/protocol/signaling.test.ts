import { describe, expect, it } from "vitest";
import { parseClientSignal, parseServerSignal, relaySignal } from "../../protocol/signaling.ts";

const offer = { v: 1, type: "offer", dst: "provider", payload: { type: "offer", sdp: "v=0\r\n" } };

describe("parseClientSignal", () => {
  it("accepts offers, answers, candidates and leaves addressed to a role", () => {
    expect(parseClientSignal(JSON.stringify(offer))).toEqual({ ok: true, message: offer });
    expect(parseClientSignal(JSON.stringify({ v: 1, type: "candidate", dst: "creator", payload: { candidate: "candidate:1 1 UDP 1 127.0.0.1 5000 typ host", mid: "0" } })).ok).toBe(true);
    expect(parseClientSignal(JSON.stringify({ v: 1, type: "leave", dst: "creator" }))).toEqual({ ok: true, message: { v: 1, type: "leave", dst: "creator", payload: {} } });
  });

  it("drops a src the client wrote itself: only the server names the sender", () => {
    const parsed = parseClientSignal(JSON.stringify({ ...offer, src: "mediator" }));
    expect(parsed.ok && "src" in parsed.message).toBe(false);
    if (parsed.ok) expect(relaySignal(parsed.message, "creator").src).toBe("creator");
  });

  it("carries a transfer's session through the relay, both ways, and refuses one that is not a plain token", () => {
    const parsed = parseClientSignal(JSON.stringify({ ...offer, session: "3f0c9a1e-5b7d-4c2a-9e1f-0a1b2c3d4e5f" }));
    expect(parsed.ok && relaySignal(parsed.message, "creator")).toMatchObject({ session: "3f0c9a1e-5b7d-4c2a-9e1f-0a1b2c3d4e5f", src: "creator" });
    const answer = parseServerSignal(JSON.stringify({ v: 1, type: "answer", dst: "creator", src: "provider", session: "s1", payload: { type: "answer", sdp: "v=0\r\n" } }));
    expect(answer.ok && answer.message).toMatchObject({ session: "s1" });
    for (const session of ["", "a b", "x".repeat(65), 7]) expect(parseClientSignal(JSON.stringify({ ...offer, session })).ok, String(session)).toBe(false);
  });

  it("error: refuses garbage, other versions, unknown types, bad roles, mismatched payloads and oversized SDP with a reason", () => {
    expect(parseClientSignal("{")).toEqual({ ok: false, error: "the signaling v1 frame is not JSON" });
    const bad = [
      { ...offer, v: 2 },
      { ...offer, type: "hello" },
      { ...offer, dst: "../hub" },
      { ...offer, dst: "Provider" },
      { ...offer, payload: { type: "answer", sdp: "v=0" } },
      { ...offer, payload: { type: "offer", sdp: "x".repeat(64 * 1024 + 1) } },
      { v: 1, type: "candidate", dst: "creator", payload: { candidate: "", mid: "0" } },
    ];
    for (const frame of bad) {
      const parsed = parseClientSignal(JSON.stringify(frame));
      expect(parsed.ok, JSON.stringify(frame).slice(0, 80)).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(/^the signaling v1 frame does not match the protocol: /);
    }
  });
});

describe("parseServerSignal", () => {
  it("accepts relayed signals, errors and presence", () => {
    expect(parseServerSignal(JSON.stringify({ ...offer, src: "creator" })).ok).toBe(true);
    expect(parseServerSignal(JSON.stringify({ v: 1, type: "error", code: "peer_absent", message: "the provider did not come", dst: "provider", ref_type: "offer" })).ok).toBe(true);
    expect(parseServerSignal(JSON.stringify({ v: 1, type: "peer", peer: "provider", present: true })).ok).toBe(true);
  });

  it("error: refuses a relayed signal without its sender, and unknown error codes", () => {
    expect(parseServerSignal(JSON.stringify(offer)).ok).toBe(false);
    expect(parseServerSignal(JSON.stringify({ v: 1, type: "error", code: "boom", message: "" })).ok).toBe(false);
  });
});
