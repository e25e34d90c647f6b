// A sweep's early stopping outlives the Worker: a batch created with stop_early on
// a real provider daemon, `wrangler dev` killed (SIGKILL) while its jobs run and
// started again on its own local state, and the judge (a Durable Object with an
// alarm) still stops the losing run, after the restart; the others end as they would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Job } from "../../../protocol/job.ts";
import { PondClient } from "../../../sdk/index.ts";
import { removeContainersOf } from "../../helpers/docker.ts";
import { eventually } from "../../helpers/eventually.ts";
import { transitionsOf } from "../../helpers/jobHistory.ts";
import { shellJob } from "../../helpers/jobs.ts";
import { startProvider, type ProviderProcess } from "../../helpers/providerProcess.ts";
import { startWranglerDev, type WranglerDev } from "../../helpers/wranglerDev.ts";

let dev: WranglerDev;
let provider: ProviderProcess;

beforeAll(async () => {
  dev = await startWranglerDev({ SWEEP_JUDGE_INTERVAL_MS: "500" });
  provider = await startProvider(dev.url, ["--max-cpus", "1", "--max-memory-mb", "1024"]);
});

afterAll(async () => {
  await provider?.remove();
  if (provider) await removeContainersOf(provider.address);
  await dev?.stop();
});

/** Reports `loss` every 0.4 s for `steps` steps. */
const reporting = (loss: number, steps: number) =>
  shellJob(`i=0; while [ $i -lt ${steps} ]; do i=$((i+1)); echo "POND_METRICS {\\"step\\": $i, \\"loss\\": ${loss}}"; sleep 0.4; done`, {
    resources: { gpus: 0, cpus: 0.25, memory_mb: 128 },
    timeout_s: 600,
  });

describe("wrangler dev killed while a batch with stop_early runs", () => {
  it("still stops the losing run once it is back, and lets the others end", async () => {
    const client = new PondClient({ baseUrl: dev.url });
    await client.signIn(privateKeyToAccount(generatePrivateKey()));
    // Judged from step 25 on (10 s in): after the kill, whatever the restart takes.
    const created = await client.createJobs([reporting(9, 1500), reporting(1, 40), reporting(1, 40), reporting(1, 40)], { stopEarly: { metric: "loss", mode: "min", after_step: 25 } });
    const [losing, ...honest] = created as [Job, ...Job[]];
    await eventually(async () => (await Promise.all(created.map((job) => client.getJob(job.id)))).every((job) => job.status === "processing"), {
      what: "all four running",
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    await dev.kill();
    const killedAt = Date.now();
    dev = await dev.restart();

    const stopped = await eventually(async () => {
      const job = await client.getJob(losing.id);
      return job.status === "canceled" && job;
    }, { what: "the losing run stopped after the restart", timeoutMs: 120_000, intervalMs: 1_000 });
    expect(stopped.status_detail).toMatch(/^canceled by its creator: stopped early at step \d+: its best loss 9 is above the median 1 of 3 other runs' averages there$/);
    const canceledAt = Date.parse((await transitionsOf(client, losing.id)).find((t) => t.to === "canceled")!.at);
    expect(canceledAt).toBeGreaterThan(killedAt);

    const ended = await eventually(async () => {
      const jobs = await Promise.all(honest.map((job) => client.getJob(job.id)));
      return jobs.every((job) => job.status === "succeeded" || job.status === "failed") && jobs;
    }, { what: "the honest runs to end", timeoutMs: 120_000, intervalMs: 1_000 });
    for (const job of ended) expect(job.status, `${job.id}: ${job.error}`).toBe("succeeded");
  });
});
