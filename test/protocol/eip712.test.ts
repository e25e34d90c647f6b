import { describe, expect, it } from "vitest";
import { canonicalJson, chainJobIdOf, specHashOf } from "../../protocol/eip712.ts";

describe("canonical encoding", () => {
  it("sorts keys at every depth and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
  });
  it("gives the same spec hash whatever the key order", () => {
    const a = { image: "x", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 1, max_price_wei: "1" };
    const b = { max_price_wei: "1", timeout_s: 1, resources: { memory_mb: 64, cpus: 1, gpus: 0 }, image: "x" };
    expect(specHashOf(a)).toBe(specHashOf(b));
    expect(specHashOf({ ...a, timeout_s: 2 })).not.toBe(specHashOf(a));
  });
  it("derives a 32-byte on-chain id from an API job id", () => {
    expect(chainJobIdOf("job_abc")).toMatch(/^0x[0-9a-f]{64}$/);
  });
});
