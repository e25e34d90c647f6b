import { describe, expect, it } from "vitest";
import { HubMessage, parseFrame, ProviderMessage } from "../../protocol/hubMessages.ts";

describe("parseFrame", () => {
  it("accepts a well-formed message", () => {
    const parsed = parseFrame(ProviderMessage, JSON.stringify({ v: 1, type: "job.decline", job_id: "job_1", reason: "busy" }));
    expect(parsed).toEqual({ ok: true, message: { v: 1, type: "job.decline", job_id: "job_1", reason: "busy" } });
  });
  it("refuses garbage, unknown types, other versions and missing fields with a reason, never a throw", () => {
    expect(parseFrame(ProviderMessage, "{")).toEqual({ ok: false, error: "the frame is not JSON" });
    for (const frame of [{ v: 1, type: "explode" }, { v: 2, type: "job.decline", job_id: "j", reason: "r" }, { v: 1, type: "job.accept", job_id: "j" }]) {
      const parsed = parseFrame(ProviderMessage, JSON.stringify(frame));
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(/protocol v1/);
    }
  });
  it("parses what the hub sends", () => {
    expect(parseFrame(HubMessage, JSON.stringify({ v: 1, type: "hello", nonce: "0123456789abcdef0123" })).ok).toBe(true);
  });
});
