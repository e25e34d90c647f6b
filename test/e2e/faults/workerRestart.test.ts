// `wrangler dev` killed (SIGKILL) and started again on its own local state,
// with jobs queued and running on real provider daemons, results made while it
// was down, and webhooks being retried: every job ends, nothing is lost.
//
// wrangler dev never runs cron on its own, and the sweeper is what finds work a
// crash left behind (Miniflare's queues are in memory: a SIGKILL drops every
// queued delivery). So the test runs the cron handler as production's every-minute
// trigger would, with the sweeper's graces shortened through wrangler vars.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../../../sdk/index.ts";
import type { Job } from "../../../protocol/job.ts";
import { eventForStatus } from "../../../protocol/webhookEvents.ts";
import { containersOfJob, removeContainersOf } from "../../helpers/docker.ts";
import { eventually } from "../../helpers/eventually.ts";
import { deliveriesTo, transitionsOf, type Delivery } from "../../helpers/jobHistory.ts";
import { shellJob } from "../../helpers/jobs.ts";
import { startProvider, type ProviderProcess } from "../../helpers/providerProcess.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../helpers/webhookReceiver.ts";
import { startWranglerDev, type WranglerDev } from "../../helpers/wranglerDev.ts";

const EVENTS = ["job.queued", "job.started", "job.succeeded", "job.failed"] as const;

let dev: WranglerDev;
let receiver: WebhookReceiver;
const providers: ProviderProcess[] = [];

beforeAll(async () => {
  [dev, receiver] = await Promise.all([
    startWranglerDev({
      HUB_SHARDS: "2",
      // Every attempt before the crash fails; the schedule must outlast the wait for the crash.
      WEBHOOK_RETRY_SCHEDULE: Array.from({ length: 30 }, () => "2").join(","),
      WEBHOOK_TIMEOUT_MS: "5000",
      WEBHOOK_OUTBOX_GRACE_MS: "3000",
      WEBHOOK_LOST_AFTER_MS: "3000",
    }),
    startWebhookReceiver(),
  ]);
  // One CPU each and jobs of one CPU: two run, the rest wait in the queue.
  for (let i = 0; i < 2; i++) providers.push(await startProvider(dev.url, ["--max-cpus", "1", "--max-memory-mb", "1024"]));
});

afterAll(async () => {
  for (const p of providers) {
    await p.remove();
    await removeContainersOf(p.address);
  }
  await dev?.stop();
  await receiver?.close();
});

describe("wrangler dev killed and restarted", () => {
  it("finishes every job once, on the providers it had, and delivers every webhook", async () => {
    const client = new PondClient({ baseUrl: dev.url });
    await client.signIn(privateKeyToAccount(generatePrivateKey()));
    const endpoint = (await client.request("POST", "/v1/webhooks", { url: `${receiver.url}/hooks/endpoint`, events: EVENTS })) as { id: string; secret: string };
    const { secret: defaultSecret } = (await client.request("GET", "/v1/webhooks/default/secret")) as { secret: string };
    receiver.setUp("endpoint", { secret: endpoint.secret, fallback: 500 });
    receiver.setUp("own", { secret: defaultSecret, fallback: 500 });

    const created: Job[] = [];
    for (let i = 0; i < 5; i++) {
      const ownHook = i % 2 === 0 ? { webhook: `${receiver.url}/hooks/own`, webhook_events_filter: ["job.succeeded" as const] } : {};
      created.push(
        await client.createJob(shellJob(`echo job ${i}; sleep 4; echo out-${i} > /outputs/out.txt`, { resources: { gpus: 0, cpus: 1, memory_mb: 128 }, timeout_s: 120, ...ownHook })),
      );
    }

    // Two running, the rest queued, and deliveries failing and waiting for their retry.
    const running = await eventually(async () => {
      const jobs = await Promise.all(created.map((j) => client.getJob(j.id)));
      const processing = jobs.filter((j) => j.status === "processing");
      return processing.length === 2 && jobs.filter((j) => j.status === "queued").length === 3 && processing;
    }, { what: "two jobs running and three queued", timeoutMs: 60_000, intervalMs: 200 });
    await eventually(async () => receiver.received("endpoint").filter((w) => w.answeredWith === 500).length >= 5, { what: "webhooks failing" });

    await dev.kill();
    // The endpoints are healthy from now on; what was in flight must still arrive.
    receiver.setUp("endpoint", { fallback: 200 });
    receiver.setUp("own", { fallback: 200 });
    // The running jobs' containers finish while the Worker is down: their outputs and results must wait.
    await eventually(async () => {
      const containers = (await Promise.all(running.map((j) => containersOfJob(j.id)))).flat();
      return containers.every((c) => c.State !== "running");
    }, { what: "the running jobs' containers to exit", timeoutMs: 60_000, intervalMs: 200 });
    dev = await dev.restart();

    const finished = await eventually(async () => {
      await dev.runCron();
      const jobs = await Promise.all(created.map((j) => client.getJob(j.id)));
      return jobs.every((j) => j.status === "succeeded" || j.status === "failed") && jobs;
    }, { what: "every job to finish", timeoutMs: 150_000, intervalMs: 1_000 });

    for (const job of finished) {
      expect(job.status, `${job.id}: ${job.error}`).toBe("succeeded");
      // The providers came back: nothing was requeued, no attempt spent.
      expect(job.attempt).toBe(0);
      expect((await transitionsOf(client, job.id)).map((t) => t.to)).toEqual(["queued", "starting", "processing", "succeeded"]);
      const index = created.findIndex((c) => c.id === job.id);
      expect(new TextDecoder().decode(await client.downloadOutput(job.id, "out.txt"))).toBe(`out-${index}\n`);
    }

    // Every event a transition owed has a delivery, and each delivery arrived, signed, with a 2xx.
    const owed = async () => {
      const pairs: Array<{ endpoint: string; key: string }> = [];
      for (const job of created) {
        for (const t of await transitionsOf(client, job.id)) {
          const event = eventForStatus(t.to as Job["status"]);
          if (event && (EVENTS as readonly string[]).includes(event)) pairs.push({ endpoint: endpoint.id, key: `${job.id} ${event}` });
          if (event === "job.succeeded" && job.webhook) pairs.push({ endpoint: "default", key: `${job.id} ${event}` });
        }
      }
      return pairs;
    };
    const expected = await owed();
    expect(expected).toHaveLength(5 * 3 + 3);
    const settled = await eventually(async () => {
      await dev.runCron();
      const all: Delivery[] = [...(await deliveriesTo(client, endpoint.id)), ...(await deliveriesTo(client, "default"))];
      const open = all.filter((d) => d.state !== "delivered");
      if (open.length > 0) throw new Error(`not delivered: ${open.map((d) => `${d.job_id} ${d.event_type} ${d.state} after ${d.attempts.length} attempts`).join("; ")}`);
      return all.length >= expected.length && all;
    }, { what: "every delivery delivered", timeoutMs: 90_000, intervalMs: 1_000 });

    const recorded = new Set(settled.map((d) => `${d.endpoint_id} ${d.job_id} ${d.event_type}`));
    for (const { endpoint: id, key } of expected) expect(recorded, `no delivery for ${id} ${key}`).toContain(`${id} ${key}`);
    const arrived = [...receiver.received("endpoint"), ...receiver.received("own")];
    for (const delivery of settled) {
      const ok = arrived.filter((w) => w.id === delivery.id && w.verified && typeof w.answeredWith === "number" && w.answeredWith < 300);
      expect(ok.length, `delivery ${delivery.id} (${delivery.job_id} ${delivery.event_type}) never arrived with a 2xx`).toBeGreaterThanOrEqual(1);
    }
    // And some of them were in flight when the Worker died: failed before, delivered after.
    expect(settled.some((d) => d.attempts.some((a) => a.status_code === 500) && d.attempts.at(-1)?.status_code === 200)).toBe(true);
  });
});
