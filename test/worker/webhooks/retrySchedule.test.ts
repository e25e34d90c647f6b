import { describe, expect, it } from "vitest";
import { getConfig } from "../../../worker/config/config.ts";
import { MAX_QUEUE_DELAY_S, nextRetryDelayS, parseRetryAfter } from "../../../worker/webhooks/retrySchedule.ts";

// The production default, as config.ts parses it without an override.
const schedule = getConfig({ ENVIRONMENT: "production", SECRETS_KEY: btoa("k".repeat(32)), PUBLIC_URL: "https://api.pond.test", SIWE_DOMAIN: "api.pond.test" } as never).webhooks.retryScheduleS;

describe("webhook retry schedule", () => {
  it("grows from seconds to hours and spans more than a day", () => {
    for (let i = 1; i < schedule.length; i++) expect(schedule[i]!).toBeGreaterThanOrEqual(schedule[i - 1]!);
    expect(schedule[0]).toBeLessThanOrEqual(10);
    expect(schedule.reduce((a, b) => a + b, 0)).toBeGreaterThan(24 * 3600);
  });

  it("jitters each step by at most ±20%", () => {
    expect(nextRetryDelayS(3, schedule, undefined, () => 0)).toBe(Math.round(schedule[2]! * 0.8));
    expect(nextRetryDelayS(3, schedule, undefined, () => 0.999999)).toBe(Math.round(schedule[2]! * 1.2));
    const spread = new Set(Array.from({ length: 50 }, () => nextRetryDelayS(5, schedule, undefined)));
    expect(spread.size).toBeGreaterThan(1);
  });

  it("stops once the schedule is spent", () => {
    expect(nextRetryDelayS(schedule.length, schedule, undefined, () => 0.5)).toBeDefined();
    expect(nextRetryDelayS(schedule.length + 1, schedule, undefined)).toBeUndefined();
  });

  it("honours a longer Retry-After, capped at the queue's 12 hour limit", () => {
    expect(nextRetryDelayS(1, [5], 120, () => 0.5)).toBe(120);
    expect(nextRetryDelayS(1, [5], 1, () => 0.5)).toBe(5);
    expect(nextRetryDelayS(1, [5], 999_999, () => 0.5)).toBe(MAX_QUEUE_DELAY_S);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("30", now)).toBe(30);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:01:00 GMT", now)).toBe(60);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
