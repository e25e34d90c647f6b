// Providers come and go: killed mid-job, cut off and reconnecting, of
// different sizes, or lying about who they are. Real daemons, real Docker,
// `wrangler dev`, and a TCP relay to break connections for real.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../../sdk/index.ts";
import { HUB_PROTOCOL_VERSION } from "../../protocol/hubMessages.ts";
import type { Job } from "../../protocol/job.ts";
import type { CreateJobRequest } from "../../protocol/jobSpec.ts";
import { uploadHeaders, uploadMessage } from "../../protocol/uploads.ts";
import { shellJob } from "../helpers/jobs.ts";
import { TestProviders } from "../helpers/testProviders.ts";
import { connectRawProvider } from "../helpers/rawProvider.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcpProxy.ts";
import { startWranglerDev, type WranglerDev } from "../helpers/wranglerDev.ts";

const GRACE_MS = 4_000;
let dev: WranglerDev;
let client: PondClient;
const providers = new TestProviders();
const proxies: TcpProxy[] = [];

const job = (cmd: string, overrides: Partial<CreateJobRequest> = {}) => shellJob(cmd, { timeout_s: 60, ...overrides });

const provider = (api: string, flags: string[]) => providers.start(api, flags);

async function transitions(id: string) {
  return ((await client.request("GET", `/v1/jobs/${id}/transitions`)) as { results: Array<{ from: string | null; to: string; detail: string | null }> }).results;
}

beforeAll(async () => {
  dev = await startWranglerDev({ HUB_SHARDS: "3", PROVIDER_GRACE_MS: String(GRACE_MS), OFFER_TIMEOUT_MS: "3000" });
  client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
});

afterEach(async () => {
  await providers.removeAll();
  for (const proxy of proxies.splice(0)) await proxy.close();
});

afterAll(async () => {
  await dev?.stop();
});

describe("a provider killed mid-job", () => {
  it("loses the job after the grace period; it is requeued and finishes on another provider", async () => {
    const cheap = await provider(dev.url, ["--cpu-second-wei", "1", "--max-cpus", "1", "--max-memory-mb", "1024"]);
    const created = await client.createJob(job("echo attempt; sleep 4; echo done > /outputs/done.txt"));
    const running = await client.waitForJob(created.id, { until: (j) => j.status === "processing" });
    expect(running.provider).toBe(cheap.address);

    await cheap.stop("SIGKILL");
    const backup = await provider(dev.url, ["--cpu-second-wei", "5", "--max-cpus", "1", "--max-memory-mb", "1024"]);
    const done = await client.waitForJob(created.id, { timeoutMs: 60_000 });
    expect(done.status).toBe("succeeded");
    expect(done.provider).toBe(backup.address);
    expect(done.attempt).toBe(1);
    const path = (await transitions(created.id)).map((t) => t.to);
    expect(path).toEqual(["queued", "starting", "processing", "queued", "starting", "processing", "succeeded"]);
    expect((await transitions(created.id))[3]!.detail).toMatch(/disconnected and did not come back within 4 s; requeued/);
  });
});

describe("a provider whose connection drops", () => {
  it("reconnects, and its running job finishes normally", async () => {
    const proxy = await startTcpProxy(dev.port);
    proxies.push(proxy);
    const p = await provider(proxy.url, ["--max-cpus", "1", "--max-memory-mb", "1024"]);
    const created = await client.createJob(job("echo before; sleep 3; echo after; echo kept > /outputs/kept.txt"));
    await client.waitForJob(created.id, { until: (j) => j.status === "processing" });

    proxy.dropAll();
    await p.process.waitFor(/disconnected from the hub; reconnecting/);
    const done = await client.waitForJob(created.id, { timeoutMs: 60_000 });
    expect(done.status).toBe("succeeded");
    expect(done.provider).toBe(p.address);
    expect(done.attempt).toBe(0);
    expect(new TextDecoder().decode(await client.downloadOutput(done.id, "kept.txt"))).toBe("kept\n");
    expect(p.process.output().match(/connected to the hub/g)!.length).toBeGreaterThanOrEqual(2);
  });

  it("delivers a result made while it was away once it is back", async () => {
    const proxy = await startTcpProxy(dev.port);
    proxies.push(proxy);
    const p = await provider(proxy.url, ["--max-cpus", "1", "--max-memory-mb", "1024"]);
    const created = await client.createJob(job("sleep 1; echo finished while away", { timeout_s: 30 }));
    await client.waitForJob(created.id, { until: (j) => j.status === "processing" });
    // Keep the connection down until the job has finished and its result waits in the outbox.
    const keepCutting = setInterval(() => proxy.dropAll(), 50);
    proxy.dropAll();
    await p.process.waitFor(/job finished/, 20_000);
    expect((await client.getJob(created.id)).status).toBe("processing");
    clearInterval(keepCutting);
    const done = await client.waitForJob(created.id, { timeoutMs: 30_000 });
    expect(done.status).toBe("succeeded");
    expect(done.provider).toBe(p.address);
    const output = p.process.output();
    expect(output.lastIndexOf("result accepted")).toBeGreaterThan(output.lastIndexOf("connected to the hub"));
  });
});

describe("providers of different sizes", () => {
  it("sends each job where it fits and explains one that fits nowhere", async () => {
    const small = await provider(dev.url, ["--cpu-second-wei", "1", "--max-cpus", "1", "--max-memory-mb", "512"]);
    const big = await provider(dev.url, ["--cpu-second-wei", "3", "--max-cpus", "2", "--max-memory-mb", "3072"]);
    const needsMemory = await client.createJob(job("echo big", { resources: { gpus: 0, cpus: 0.5, memory_mb: 2048 } }));
    const needsCpus = await client.createJob(job("echo cpus", { resources: { gpus: 0, cpus: 1.5, memory_mb: 256 } }));
    const tiny = await client.createJob(job("echo tiny", { resources: { gpus: 0, cpus: 0.5, memory_mb: 128 } }));
    const huge = await client.createJob(job("echo never", { resources: { gpus: 0, cpus: 1, memory_mb: 100_000 }, match_timeout_s: 3 }));

    expect((await client.waitForJob(needsMemory.id)).provider).toBe(big.address);
    expect((await client.waitForJob(needsCpus.id)).provider).toBe(big.address);
    // Both fit the tiny one; the cheaper wins.
    expect((await client.waitForJob(tiny.id)).provider).toBe(small.address);

    const explained = await client.waitForJob(huge.id, { until: (j) => (j.status_detail ?? "").includes("no connected provider") || j.status !== "queued" });
    expect(explained.status_detail ?? explained.error).toMatch(/no connected provider has 1 CPU, 100000 MiB memory/);
    const failed = await client.waitForJob(huge.id, { timeoutMs: 30_000 });
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/no capacity for this job within its match timeout/);
  });

  it("never runs more at once than a provider has", async () => {
    await provider(dev.url, ["--max-cpus", "2", "--max-memory-mb", "1024"]);
    const jobs = await Promise.all(Array.from({ length: 6 }, () => client.createJob(job("sleep 1", { resources: { gpus: 0, cpus: 1, memory_mb: 128 } }))));
    const done: Job[] = await Promise.all(jobs.map((j) => client.waitForJob(j.id, { timeoutMs: 90_000 })));
    expect(done.every((j) => j.status === "succeeded")).toBe(true);
    const edges = done.flatMap((j) => [
      { at: Date.parse(j.started_at!), delta: 1 },
      { at: Date.parse(j.completed_at!), delta: -1 },
    ]);
    edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
    let running = 0;
    let peak = 0;
    for (const edge of edges) peak = Math.max(peak, (running += edge.delta));
    expect(peak).toBeLessThanOrEqual(2);
    expect(peak).toBe(2);
  });
});

describe("what the hub refuses", () => {
  it("closes a connection whose signature is not the claimed address's", async () => {
    const claimed = privateKeyToAccount(generatePrivateKey());
    const impostor = privateKeyToAccount(generatePrivateKey());
    const raw = await connectRawProvider(dev.url, claimed.address, impostor);
    const error = await raw.next("error");
    expect(error).toMatchObject({ code: "auth_failed" });
    expect((await raw.closed).code).toBe(4401);
  });

  it("answers a malformed frame with an error and keeps the connection", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const raw = await connectRawProvider(dev.url, account.address, account);
    await raw.next("welcome");
    raw.send("{not json");
    expect(await raw.next("error")).toMatchObject({ code: "bad_frame" });
    raw.send({ v: 99, type: "advertise" });
    expect(await raw.next("error")).toMatchObject({ code: "bad_frame" });
    raw.send({ v: HUB_PROTOCOL_VERSION, type: "job.decline", job_id: "job_x", reason: "just checking" });
    raw.socket.close();
  });

  it("refuses a result, and an upload, for someone else's job", async () => {
    const owner = await provider(dev.url, ["--max-cpus", "1", "--max-memory-mb", "1024"]);
    const created = await client.createJob(job("sleep 3; echo mine > /outputs/mine.txt"));
    await client.waitForJob(created.id, { until: (j) => j.status === "processing" });

    const thief = privateKeyToAccount(generatePrivateKey());
    const raw = await connectRawProvider(dev.url, thief.address, thief);
    await raw.next("welcome");
    raw.send({
      v: HUB_PROTOCOL_VERSION,
      type: "job.result",
      job_id: created.id,
      outcome: "failed",
      exit_code: 1,
      error: "stolen",
      manifest: null,
      amount_wei: "0",
      signature: null,
    });
    expect(await raw.next("job.result.ack")).toMatchObject({ accepted: false, error: expect.stringMatching(/not assigned to you/) });
    raw.socket.close();

    const body = new TextEncoder().encode("forged");
    const sha256 = Buffer.from(await crypto.subtle.digest("SHA-256", body)).toString("hex");
    const timestamp = Date.now();
    const signature = await thief.signMessage({ message: uploadMessage({ jobId: created.id, path: "mine.txt", sha256, size: body.length, timestamp }) });
    const upload = await fetch(`${dev.url}/v1/providers/jobs/${created.id}/outputs/mine.txt`, {
      method: "PUT",
      body,
      headers: { [uploadHeaders.provider]: thief.address, [uploadHeaders.timestamp]: String(timestamp), [uploadHeaders.signature]: signature, [uploadHeaders.sha256]: sha256 },
    });
    expect(upload.status).toBe(403);

    const done = await client.waitForJob(created.id);
    expect(done.status).toBe("succeeded");
    expect(done.provider).toBe(owner.address);
    expect(new TextDecoder().decode(await client.downloadOutput(done.id, "mine.txt"))).toBe("mine\n");
  });
});
