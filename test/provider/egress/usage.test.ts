import { describe, expect, it } from "vitest";
import { EgressUsage } from "../../../protocol/egress.ts";
import { EgressMeter, MAX_USAGE_HOSTS } from "../../../provider/egress/usage.ts";

describe("EgressMeter", () => {
  it("counts connections and bytes per host:port, and refusals", () => {
    const meter = new EgressMeter(1000, () => undefined);
    const first = meter.connection("hub.test", 443);
    first("out", 10);
    first("in", 200);
    meter.connection("hub.test", 443)("in", 5);
    meter.connection("hub.test", 80)("out", 1);
    meter.refused();
    expect(meter.usage()).toEqual({
      hosts: [
        { host: "hub.test", port: 443, connections: 2, bytes_out: 10, bytes_in: 205 },
        { host: "hub.test", port: 80, connections: 1, bytes_out: 1, bytes_in: 0 },
      ],
      refused: 1,
    });
  });

  it(`keeps ${MAX_USAGE_HOSTS} hosts and counts the rest, each once, in hosts_omitted; their bytes still count toward the budget`, () => {
    const passed: number[] = [];
    const meter = new EgressMeter(MAX_USAGE_HOSTS + 50, () => passed.push(1));
    for (let i = 0; i < MAX_USAGE_HOSTS + 44; i++) meter.connection(`h${i}.hub.test`, 443)("in", 1);
    meter.connection(`h${MAX_USAGE_HOSTS + 1}.hub.test`, 443)("in", 1);
    const usage = meter.usage();
    expect(usage.hosts).toHaveLength(MAX_USAGE_HOSTS);
    expect(usage.hosts_omitted).toBe(44);
    expect(EgressUsage.safeParse(usage).success).toBe(true);
    expect(meter.budgetPassed).toBe(false);
    meter.connection("h0.hub.test", 443)("out", 6);
    expect(passed).toEqual([1]);
  });

  it("calls its budget handler once, on the first byte past the budget, however many come after", () => {
    const passed: number[] = [];
    const meter = new EgressMeter(100, () => passed.push(1));
    const count = meter.connection("hub.test", 443);
    count("in", 100);
    expect(meter.budgetPassed).toBe(false);
    count("out", 1);
    count("in", 50);
    meter.connection("other.hub.test", 443)("in", 1);
    expect(meter.budgetPassed).toBe(true);
    expect(passed).toEqual([1]);
  });
});
