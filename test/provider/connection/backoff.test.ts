import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../../provider/connection/backoff.ts";

describe("backoffDelay", () => {
  const options = { baseMs: 500, maxMs: 30_000 };

  it("grows exponentially up to the cap", () => {
    const ceilings = [0, 1, 2, 3, 10].map((attempt) => backoffDelay(attempt, options, () => 0.999_999));
    expect(ceilings).toEqual([499, 999, 1999, 3999, 29_999]);
  });

  it("spreads reconnects with full jitter", () => {
    expect(backoffDelay(5, options, () => 0)).toBe(0);
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(5, options)));
    expect(delays.size).toBeGreaterThan(10);
  });
});
