// A sweep's --dry-run said for a person: its points, the market its first point
// would meet, and what the whole sweep could cost at the rate offered now.
import { describe, expect, it } from "vitest";
import { describeSweepQuote, type SweepQuote } from "../../cli/sweep/sweepQuote.ts";

const quote = {
  providers_online: 2,
  providers_fit: 2,
  providers_free: 1,
  providers_within_price: 2,
  rate_wei_per_second: { lowest: "1000000000", highest: "2000000000" },
  offered_rate_wei_per_second: "1000000000",
  max_cost_wei: "600000000000",
  offered_warm_bytes: 0,
  matches_now: true,
  detail: "a provider with room would be offered it at once",
};
const answer: SweepQuote = {
  jobs: 3,
  description: "3 trials of lr log 0.0001..0.1; seed 7",
  seed: 7,
  points: [{ lr: "0.003" }, { lr: "0.04" }, { lr: "\u001b[2Jx" }],
  quote,
  max_cost_wei: "1800000000000",
  escrow_free_wei: "1000000000000000000",
};

describe("a sweep's dry run", () => {
  it("lists its points, the market for one job, the whole sweep's most at the rate offered, and the seed to draw them again", () => {
    const lines = describeSweepQuote(answer, "pond/digits-train@1.1.0");
    expect(lines[0]).toBe("pond/digits-train@1.1.0: a sweep of 3 jobs (3 trials of lr log 0.0001..0.1; seed 7), nothing created");
    expect(lines.slice(1, 4)).toEqual(["    1  lr=0.003", "    2  lr=0.04", "    3  lr=\\u001b[2Jx"]);
    expect(lines).toContain("  each job, as its first point would meet the market now:");
    expect(lines.some((line) => /providers online 2; able to run it 2; with room now 1/.test(line))).toBe(true);
    expect(lines).toContain("  together: at most 0.0000018 ETH at the rate offered now, if every job ran its whole timeout; your escrow has 1 ETH free");
    expect(lines.at(-1)).toBe("  run it with --seed 7 to draw these points");
    // Given --seed, the person has it already.
    expect(describeSweepQuote(answer, "pond/digits-train@1.1.0", true).some((line) => line.includes("--seed"))).toBe(false);
  });

  it("says when no provider would take the jobs at once, and leaves out what a grid has not (a seed, an escrow)", () => {
    const waiting = describeSweepQuote({ ...answer, seed: undefined, escrow_free_wei: undefined, max_cost_wei: null, quote: { ...quote, max_cost_wei: null, offered_rate_wei_per_second: null } }, "busybox");
    expect(waiting.some((line) => line.includes("together"))).toBe(false);
    expect(waiting.some((line) => line.includes("--seed"))).toBe(false);
    const paid = describeSweepQuote({ ...answer, seed: undefined, max_cost_wei: null }, "busybox");
    expect(paid).toContain("  together: no provider would take them at once, so what they cost depends on who does; your escrow has 1 ETH free");
  });
});
