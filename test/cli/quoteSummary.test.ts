// What `pond run --dry-run` prints for a person.
import { describe, expect, it } from "vitest";
import { describeQuote } from "../../cli/quoteSummary.ts";
import { formatBytes } from "../../protocol/byteSize.ts";
import type { JobQuote } from "../../protocol/quote.ts";

const quote = (overrides: Partial<JobQuote> = {}): JobQuote => ({
  providers_online: 3,
  providers_fit: 2,
  providers_free: 1,
  providers_within_price: 2,
  rate_wei_per_second: { lowest: "50000000000000", highest: "100000000000000" },
  offered_rate_wei_per_second: "100000000000000",
  max_cost_wei: "6000000000000000",
  offered_warm_bytes: 1_070_000_000,
  matches_now: true,
  detail: "a provider that fits, within the price, has room now: the job would be offered at once",
  ...overrides,
});

describe("describeQuote", () => {
  it("says who could run it, their rates, and the rate and most cost of the warm provider it would go to", () => {
    expect(describeQuote(quote(), "pond/digits-train@1.1.0")).toEqual([
      "pond/digits-train@1.1.0: nothing created",
      "  providers online 3; able to run it 2; with room now 1; within your price 2",
      "  rates 0.00005 to 0.0001 ETH a second",
      `  offered now by a provider already holding ${formatBytes(1_070_000_000)} of it (image, inputs) at 0.0001 ETH a second: at most 0.006 ETH if it runs its whole timeout`,
      "  a provider that fits, within the price, has room now: the job would be offered at once",
    ]);
  });

  it("leaves out the offer when the job would wait, and the rates when nobody fits", () => {
    const waiting = describeQuote(quote({ offered_rate_wei_per_second: null, max_cost_wei: null, offered_warm_bytes: 0, matches_now: false, detail: "every provider that fits within the price is busy now: the job would wait in the queue for one" }), "busybox");
    expect(waiting.some((line) => line.includes("offered now"))).toBe(false);
    expect(waiting.at(-1)).toMatch(/would wait in the queue/);
    const none = describeQuote(quote({ providers_fit: 0, rate_wei_per_second: null, offered_rate_wei_per_second: null, max_cost_wei: null, offered_warm_bytes: 0, matches_now: false, detail: "no connected provider has 8 GPUs" }), "x");
    expect(none).toEqual(["x: nothing created", "  providers online 3; able to run it 0; with room now 1; within your price 2", "  no connected provider has 8 GPUs"]);
  });
});
