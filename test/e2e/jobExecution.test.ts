// The whole stack as users run it: `wrangler dev`, a real provider daemon
// process and the real Docker engine; jobs go in over HTTP, webhooks come out
// to a real receiver that verifies their signatures.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../../sdk/index.ts";
import { containersOfJob, docker, TEST_IMAGE } from "../helpers/docker.ts";
import { startRegistry } from "../helpers/registry.ts";
import { eventually } from "../helpers/eventually.ts";
import { shellJob } from "../helpers/jobs.ts";
import { startProvider, type ProviderProcess } from "../helpers/providerProcess.ts";
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from "../helpers/webhookReceiver.ts";
import { startWranglerDev, type WranglerDev } from "../helpers/wranglerDev.ts";

let dev: WranglerDev;
let provider: ProviderProcess;
let receiver: WebhookReceiver;
let client: PondClient;

const job = shellJob;
/** Room for every output these tests write, and far less than the one that writes without end. */
const OUTPUT_LIMIT_BYTES = 4 * 1024 * 1024;

beforeAll(async () => {
  [dev, receiver] = await Promise.all([startWranglerDev({ HUB_SHARDS: "3" }), startWebhookReceiver()]);
  provider = await startProvider(dev.url, ["--max-cpus", "2", "--max-memory-mb", "2048", "--max-output-bytes", String(OUTPUT_LIMIT_BYTES)]);
  client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
});

afterAll(async () => {
  await provider?.remove();
  await dev?.stop();
  await receiver?.close();
});

describe("a job on a real provider and Docker engine", () => {
  it("succeeds, its outputs download with the manifest's sha256, and its webhook arrives signed", async () => {
    const { secret } = (await client.request("GET", "/v1/webhooks/default/secret")) as { secret: string };
    await fetch(`${receiver.url}/inbox/exec`, { method: "PUT", body: JSON.stringify({ secret }) });
    const created = await client.createJob({
      ...job("echo starting; echo hello > /outputs/greeting.txt; mkdir -p /outputs/sub; head -c 100000 /dev/urandom > /outputs/sub/random.bin; cat /inputs/note.txt"),
      inputs: [{ path: "note.txt", data_base64: Buffer.from("from the creator\n").toString("base64") }],
      webhook: `${receiver.url}/hooks/exec`,
      webhook_events_filter: ["job.succeeded"],
    });
    const done = await client.waitForJob(created.id, { timeoutMs: 60_000 });
    expect(done.status).toBe("succeeded");
    expect(done.provider).toBe(provider.address);
    expect(done.exit_code).toBe(0);
    expect(done.logs).toContain("from the creator");
    expect(done.metrics.run_ms).toBeGreaterThanOrEqual(0);
    expect(done.output!.files.map((f) => f.path)).toEqual(["greeting.txt", "sub/random.bin"]);
    for (const file of done.output!.files) {
      const bytes = await client.downloadOutput(done.id, file.path);
      expect(bytes.length).toBe(file.size);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(file.sha256);
    }
    expect(new TextDecoder().decode(await client.downloadOutput(done.id, "greeting.txt"))).toBe("hello\n");

    const [webhook] = await eventually(async () => {
      const list = (await (await fetch(`${receiver.url}/inbox/exec`)).json()) as ReceivedWebhook[];
      return list.length > 0 && list;
    });
    expect(webhook!.verified).toBe(true);
    const body = JSON.parse(webhook!.body) as { type: string; data: { id: string; output: unknown } };
    expect(body.type).toBe("job.succeeded");
    expect(body.data.id).toBe(done.id);
    expect(body.data.output).toEqual(done.output);
  });

  it("fails with the exit code when the container exits 3", async () => {
    const done = await client.waitForJob((await client.createJob(job("echo bad; exit 3"))).id);
    expect(done.status).toBe("failed");
    expect(done.exit_code).toBe(3);
    expect(done.error).toMatch(/exited with code 3/);
    expect(done.output).toBeNull();
  });

  it("fails a memory bomb as out of memory", async () => {
    const done = await client.waitForJob((await client.createJob(job("dd if=/dev/zero of=/dev/null bs=256M count=1", { resources: { gpus: 0, cpus: 0.5, memory_mb: 64 } }))).id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/out of memory/);
  });

  it("stops a job that writes more to /outputs than the provider allows, before it fills the disk", async () => {
    // Writes without end: only the provider's watch can stop it (the timeout is far away).
    const created = await client.createJob(job("while true; do head -c 1048576 /dev/zero >> /outputs/huge.bin; sleep 0.1; done", { timeout_s: 120 }));
    const done = await client.waitForJob(created.id, { timeoutMs: 60_000 });
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(new RegExp(`wrote more than ${OUTPUT_LIMIT_BYTES} bytes to /outputs`));
    // Removed once the result is out (the cleanup is off the result's path).
    await eventually(async () => (await containersOfJob(created.id)).length === 0, { what: "the container to be removed" });
  });

  it("stops a job past its timeout: timed_out", async () => {
    const done = await client.waitForJob((await client.createJob(job("sleep 60", { timeout_s: 2 }))).id);
    expect(done.status).toBe("timed_out");
    expect(done.error).toMatch(/timeout of 2 s/);
    await eventually(async () => (await containersOfJob(done.id)).length === 0, { what: "the container to be removed" });
  });

  it("cancels a running job and leaves no container behind", async () => {
    const created = await client.createJob(job("echo running; sleep 60"));
    await client.waitForJob(created.id, { until: (j) => j.status === "processing", timeoutMs: 30_000 });
    expect(await containersOfJob(created.id)).toHaveLength(1);
    const canceled = await client.cancelJob(created.id);
    expect(canceled.status).toBe("canceled");
    await eventually(async () => (await containersOfJob(created.id)).length === 0, { what: "the container to be removed" });
    // The job stays canceled, whatever the provider reports afterwards.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await client.getJob(created.id)).status).toBe("canceled");
  });

  it("runs without a network: only loopback, and a connect attempt fails", async () => {
    const done = await client.waitForJob(
      (await client.createJob(job("ls /sys/class/net > /outputs/ifaces.txt; if nc -w 2 192.0.2.1 80 </dev/null 2>/outputs/connect.txt; then exit 9; fi"))).id,
    );
    expect(done.status).toBe("succeeded");
    expect(new TextDecoder().decode(await client.downloadOutput(done.id, "ifaces.txt"))).toBe("lo\n");
    expect(new TextDecoder().decode(await client.downloadOutput(done.id, "connect.txt"))).toMatch(/Network is unreachable/);
  });

  it("runs read-only as an unprivileged user: a write to / fails", async () => {
    const done = await client.waitForJob(
      (await client.createJob(job("id -u > /outputs/uid.txt; if touch /evil 2>/outputs/err.txt; then exit 9; fi; touch /tmp/ok"))).id,
    );
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(new TextDecoder().decode(await client.downloadOutput(done.id, "uid.txt"))).toBe("65534\n");
    expect(new TextDecoder().decode(await client.downloadOutput(done.id, "err.txt"))).toMatch(/Read-only file system/);
  });

  it("pulls an image the provider does not have, pinned by digest, reporting the pull", async () => {
    const registry = await startRegistry();
    try {
      // A repository of its own: an engine that pushed the same image to a registry on this port before keeps its
      // digest under the old repository's name, and would have the image without a pull.
      const image = await registry.push(TEST_IMAGE, `pond/busybox-pull-${Date.now()}`, "1", { removeLocal: true });
      expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
      await expect(docker.getImage(image).inspect()).rejects.toThrow();
      const done = await client.waitForJob((await client.createJob({ ...job("echo pulled > /outputs/pulled.txt"), image })).id, { timeoutMs: 60_000 });
      expect(done.status, done.error ?? "").toBe("succeeded");
      expect(provider.process.output()).toContain(`"phase":"pulling","detail":"pulling ${image}`);
      expect((await docker.getImage(image).inspect()).RepoDigests).toContain(image);
      await docker.getImage(image).remove();
    } finally {
      await registry.stop();
    }
  });

  it("fails a job whose image cannot be pulled, saying so", async () => {
    const done = await client.waitForJob((await client.createJob({ ...job("true"), image: "127.0.0.1:9/pond/missing:1" })).id, { timeoutMs: 60_000 });
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/could not get image 127\.0\.0\.1:9\/pond\/missing:1/);
  });

  it("keeps every job's last line in its logs: four at once, twelve lines a second apart", async () => {
    const twelveLines = job('i=0; while [ $i -lt 12 ]; do echo "line $i"; i=$((i+1)); sleep 1; done');
    const created = await Promise.all(Array.from({ length: 4 }, () => client.createJob(twelveLines)));
    const done = await Promise.all(created.map((j) => client.waitForJob(j.id, { timeoutMs: 120_000 })));
    for (const finished of done) {
      expect(finished.status, finished.error ?? "").toBe("succeeded");
      const lines = (finished.logs ?? "").split("\n").filter((line) => line.length > 0);
      expect(lines, finished.id).toEqual(Array.from({ length: 12 }, (_, i) => `line ${i}`));
    }
  });

  it("a job whose child is killed for memory but which exits 0 succeeds, keeps its outputs, and says so", async () => {
    const created = await client.createJob(
      job("head -c 300m /dev/zero | tail > /dev/null; echo survived; echo ok > /outputs/ok.txt", { resources: { gpus: 0, cpus: 0.5, memory_mb: 64 } }),
    );
    const done = await client.waitForJob(created.id, { timeoutMs: 60_000 });
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.exit_code).toBe(0);
    expect(done.status_detail).toMatch(/a process in the job was killed: the container ran out of memory \(limit 64 MiB\)/);
    expect(done.logs).toMatch(/\[pond: a process in the job was killed/);
    expect(new TextDecoder().decode(await client.downloadOutput(done.id, "ok.txt"))).toBe("ok\n");
  });

  it("streams logs live as server-sent events", async () => {
    const created = await client.createJob(job("for i in 1 2 3; do echo line-$i; sleep 0.3; done"));
    const seen: string[] = [];
    let finalStatus: unknown;
    for await (const event of client.streamLogs(created.id)) {
      if (event.event === "log") seen.push((event.data as { data: string }).data);
      if (event.event === "done") finalStatus = (event.data as { status: string }).status;
    }
    expect(seen.join("")).toContain("line-3");
    expect(finalStatus).toBe("succeeded");
  });
});
