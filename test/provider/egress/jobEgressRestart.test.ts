// A job's egress across a daemon restart (jobEgress.ts, usage.ts): the meter
// goes to the job's record as the job runs, and the proxy a restarted daemon
// opens for the adopted job goes on from it, so the budget is the job's and
// the usage reported is the whole job's. Real sockets to the hub on 127.0.0.1.
import { beforeAll, describe, expect, it } from "vitest";
import { EGRESS_RECORD_EVERY_MS, type EgressSettings, openJobEgress } from "../../../provider/egress/jobEgress.ts";
import type { EgressMeterSnapshot } from "../../../provider/egress/usage.ts";
import { eventually } from "../../helpers/eventually.ts";
import { httpVia } from "./client.ts";
import { silent, useEgressHarness } from "./harness.ts";
import type { Hub } from "./hub.ts";

const harness = useEgressHarness();
let hub: Hub;
beforeAll(() => {
  hub = harness.hub();
});

const settings = (budgetBytes: number): EgressSettings => ({ deny: [], budgetBytes, maxConnections: 8, allowAddresses: ["127.0.0.1"], fixedAnswers: new Map([["hub.test", "127.0.0.1"]]) });

describe("a job's egress across a daemon restart", () => {
  it("is written to the record as it moves, and the next daemon's proxy goes on from it, budget included", async () => {
    const network = { allow: [`hub.test:${hub.httpPort}`] };
    const job = { jobId: "job_restart", network, workDir: harness.dir() };
    const budget = 600_000;
    const recorded: EgressMeterSnapshot[] = [];
    const exceeded: string[] = [];
    const first = await openJobEgress(job, settings(budget), silent, { onExceeded: (reason) => exceeded.push(reason), onProgress: (snapshot) => recorded.push(snapshot) });
    const download = (bytes: number) => httpVia(first.proxySocketPath, `http://hub.test:${hub.httpPort}/bytes/${bytes}`, { headers: { host: "hub.test" } });
    expect((await download(400_000)).body.length).toBe(400_000);
    const written = await eventually(async () => recorded.at(-1), { what: "the meter to reach the record", timeoutMs: EGRESS_RECORD_EVERY_MS * 3 });
    expect(written.bytes).toBeGreaterThan(400_000);
    expect(written.usage.hosts).toEqual([expect.objectContaining({ host: "hub.test", port: hub.httpPort, connections: 1 })]);
    // kill -9: nothing more is written; the next daemon reads the record.
    await first.close();
    const resumed = await openJobEgress({ ...job, resumeFrom: JSON.parse(JSON.stringify(written)) as EgressMeterSnapshot }, settings(budget), silent, { onExceeded: (reason) => exceeded.push(reason) });
    try {
      expect(resumed.usage()).toEqual(written.usage);
      // What is left of the budget is what the job had left: another 400,000 bytes pass it.
      const cut = await httpVia(resumed.proxySocketPath, `http://hub.test:${hub.httpPort}/bytes/400000`, { headers: { host: "hub.test" } }).then(
        (answer) => answer.body.length,
        () => -1,
      );
      expect(cut).not.toBe(400_000);
      expect(exceeded).toEqual([`the job's network egress passed its budget of ${budget} bytes`]);
      expect(resumed.usage().hosts[0]!.connections).toBe(2);
    } finally {
      await resumed.close();
    }
  });

  it("resumed past its budget stops the job at once and lets nothing out", async () => {
    const network = { allow: [`hub.test:${hub.httpPort}`] };
    const exceeded: string[] = [];
    const seenBefore = hub.seen.length;
    const resumeFrom = { usage: { hosts: [], refused: 0 }, bytes: 1_001 };
    const egress = await openJobEgress({ jobId: "job_over", network, workDir: harness.dir(), resumeFrom }, settings(1_000), silent, { onExceeded: (reason) => exceeded.push(reason) });
    try {
      expect(exceeded).toEqual(["the job's network egress passed its budget of 1000 bytes"]);
      const answer = await httpVia(egress.proxySocketPath, `http://hub.test:${hub.httpPort}/hello`, { headers: { host: "hub.test" } });
      expect(answer.status).toBe(403);
      expect(hub.seen.length).toBe(seenBefore);
    } finally {
      await egress.close();
    }
  });
});
