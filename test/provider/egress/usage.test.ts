import { describe, expect, it } from "vitest";
import { EgressUsage, egressRefusalLimits } from "../../../protocol/egress.ts";
import { EgressMeter, MAX_USAGE_HOSTS } from "../../../provider/egress/usage.ts";

describe("EgressMeter", () => {
  it("counts connections and bytes per host:port, and refusals", () => {
    const meter = new EgressMeter(1000, () => undefined);
    const first = meter.connection("hub.test", 443);
    first("out", 10);
    first("in", 200);
    meter.connection("hub.test", 443)("in", 5);
    meter.connection("hub.test", 80)("out", 1);
    meter.refused({ status: 400, reason: "CONNECT needs host:port" });
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

  it(`says which hosts were refused and why, alike ones counted together, the first ${egressRefusalLimits.kinds} kinds only`, () => {
    const meter = new EgressMeter(1000, () => undefined);
    const notAllowed = (host: string) => ({ status: 403, reason: `${host}:443 is not in this job's network allow list`, host, port: 443 });
    meter.refused(notAllowed("cdn-lfs.example.org"));
    meter.refused(notAllowed("cdn-lfs.example.org"));
    meter.refused({ status: 502, reason: "could not connect to hub.test:443 (ECONNREFUSED)", host: "hub.test", port: 443 });
    meter.refused({ status: 403, reason: "x".repeat(1000), host: "h".repeat(400), port: 443 });
    for (let i = 0; i < 40; i++) meter.refused(notAllowed(`h${i}.example.org`));
    const usage = meter.usage();
    expect(usage.refused).toBe(44);
    expect(usage.refusals).toHaveLength(egressRefusalLimits.kinds);
    expect(usage.refusals!.slice(0, 2)).toEqual([
      { host: "cdn-lfs.example.org", port: 443, status: 403, reason: "cdn-lfs.example.org:443 is not in this job's network allow list", count: 2 },
      { host: "hub.test", port: 443, status: 502, reason: "could not connect to hub.test:443 (ECONNREFUSED)", count: 1 },
    ]);
    // A job's own long names and reasons are cut to what the result may carry.
    expect(EgressUsage.safeParse(usage).success).toBe(true);
  });

  it("resumed from a snapshot (a restarted daemon), goes on counting the same job: its hosts, refusals and budget", () => {
    const before = new EgressMeter(1000, () => undefined);
    before.connection("hub.test", 443)("in", 600);
    before.refused({ status: 403, reason: "cdn.test:443 is not in this job's network allow list", host: "cdn.test", port: 443 });
    const snapshot = JSON.parse(JSON.stringify(before.snapshot())) as ReturnType<EgressMeter["snapshot"]>;
    const passed: number[] = [];
    const after = new EgressMeter(1000, () => passed.push(1), snapshot);
    expect(after.usage()).toEqual(before.usage());
    after.connection("hub.test", 443)("in", 400);
    after.refused({ status: 403, reason: "cdn.test:443 is not in this job's network allow list", host: "cdn.test", port: 443 });
    expect(after.usage()).toMatchObject({ hosts: [{ host: "hub.test", port: 443, connections: 2, bytes_in: 1000 }], refused: 2, refusals: [{ host: "cdn.test", count: 2 }] });
    expect(passed).toEqual([]);
    // The budget is the job's: the byte past it is past it, whichever daemon counts it.
    after.connection("hub.test", 443)("out", 1);
    expect(passed).toEqual([1]);
  });

  it("resumed past its budget is passed at once, and leaves telling to its owner", () => {
    const passed: number[] = [];
    const meter = new EgressMeter(100, () => passed.push(1), { usage: { hosts: [], refused: 0 }, bytes: 101 });
    expect(meter.budgetPassed).toBe(true);
    meter.connection("hub.test", 443)("in", 1);
    expect(passed).toEqual([]);
  });
});
