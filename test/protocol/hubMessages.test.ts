import { describe, expect, it } from "vitest";
import { HubMessage, JobId, OfferMessage, parseFrame, ProviderMessage } from "../../protocol/hubMessages.ts";

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

describe("job ids", () => {
  it("accepts ids as the Worker makes them", () => {
    for (const id of ["job_1", "job_x", "job_0123456789abcdefghjkmnpqrs", "bench_abc"]) expect(JobId.safeParse(id).success, id).toBe(true);
  });
  it("refuses anything that could name another folder", () => {
    for (const id of ["", "j", "../../etc", "job_../x", "job_a/b", "job_", "_abc", "JOB_1", "job_1 ", "job_a.b", `job_${"a".repeat(61)}`]) {
      expect(JobId.safeParse(id).success, id).toBe(false);
    }
    const parsed = parseFrame(HubMessage, JSON.stringify({ v: 1, type: "job.start", job_id: "../../home" }));
    expect(parsed.ok).toBe(false);
  });
});

describe("offers", () => {
  const offer = {
    v: 1,
    type: "job.offer",
    job_id: "job_1",
    chain_job_id: `0x${"AB".repeat(32)}`,
    spec: { image: "busybox", resources: { gpus: 2, cpus: 1, memory_mb: 64 }, timeout_s: 5, max_price_wei: "1" },
    gpu_uuids: ["GPU-a", "GPU-b"],
    rate_wei_per_second: "1",
    max_amount_wei: "5",
    expires_at: 1,
  };
  it("takes a 32-byte chain job id in either case and gives it in lower case", () => {
    expect(OfferMessage.parse(offer).chain_job_id).toBe(`0x${"ab".repeat(32)}`);
  });
  it("refuses a chain job id of another length, and GPUs named twice or too many", () => {
    expect(OfferMessage.safeParse({ ...offer, chain_job_id: "0x1234" }).success).toBe(false);
    expect(OfferMessage.safeParse({ ...offer, chain_job_id: `0x${"ab".repeat(33)}` }).success).toBe(false);
    expect(OfferMessage.safeParse({ ...offer, gpu_uuids: ["GPU-a", "GPU-a"] }).success).toBe(false);
    expect(OfferMessage.safeParse({ ...offer, gpu_uuids: Array.from({ length: 65 }, (_, i) => `GPU-${i}`) }).success).toBe(false);
  });
});
