// Network egress end to end: wrangler dev, two provider daemons (a cheap one
// without --egress, a dearer one with it), and a stand-in model hub: an HTTP
// server in a network namespace this test makes, reached over a veth pair from
// the root namespace only (10.203.x.0/30; nothing routes further). Its address
// is private, so the egress provider counts it reachable only because the test
// names it (--egress-allow-addresses) and answers its name without DNS, which
// this machine lacks (--egress-resolve). A job with network.allow fetches from
// the hub through its provider's proxy and reaches nothing else: another host,
// a name resolving to a private address not named, raw TCP, DNS; a job past the
// byte budget fails saying so; a job without network.allow has loopback only
// and lands on the cheaper provider. HTTPS through CONNECT, rebinding and the
// default refusal of private addresses are tested on the proxy itself
// (test/provider/egress/).
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../../sdk/index.ts";
import type { Job } from "../../protocol/job.ts";
import { probeEgressSupport } from "../../provider/egress/jobNetwork.ts";
import { jobWorkDir } from "../../provider/workDir.ts";
import { eventually } from "../helpers/eventually.ts";
import { shellJob } from "../helpers/jobs.ts";
import { hubWeights, startModelHub, WEIGHTS_BYTES, type ModelHub } from "../helpers/modelHub.ts";
import { namespacesUnavailable } from "../helpers/netns.ts";
import { startProvider, type ProviderProcess } from "../helpers/providerProcess.ts";
import { startWranglerDev, type WranglerDev } from "../helpers/wranglerDev.ts";

const id = `${process.pid % 10000}`;
const octet = 1 + (process.pid % 250);
const BUDGET_MB = 4;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const skipReason = (await namespacesUnavailable()) ?? (await probeEgressSupport().then((s) => (s.ok ? undefined : s.reason)));
if (skipReason) console.warn(`SKIPPED egress e2e: ${skipReason}`);

let dev: WranglerDev;
let plain: ProviderProcess;
let egress: ProviderProcess;
let hub: ModelHub | undefined;
let client: PondClient;
let HUB: string;

const spec = (script: string, extra: Record<string, unknown> = {}) => shellJob(script, { timeout_s: 90, ...extra });

async function finished(request: Record<string, unknown>): Promise<Job> {
  const created = await client.createJob(request as never);
  return client.waitForJob(created.id, { timeoutMs: 150_000 });
}

const text = async (job: Job, path: string) => new TextDecoder().decode(await client.downloadOutput(job.id, path)).trim();

beforeAll(async () => {
  if (skipReason) return;
  hub = await startModelHub(id, 203, octet);
  HUB = hub.address;
  dev = await startWranglerDev();
  const common = ["--max-cpus", "1", "--max-memory-mb", "1024"];
  plain = await startProvider(dev.url, [...common, "--cpu-second-wei", "1000000000"]);
  egress = await startProvider(dev.url, [
    ...common,
    "--cpu-second-wei",
    "3000000000",
    "--egress",
    "--egress-allow-addresses",
    HUB,
    "--egress-resolve",
    `model-hub.test=${HUB}`,
    "--egress-resolve",
    `private-name.test=${hub.hostSide}`,
    "--egress-budget-mb",
    String(BUDGET_MB),
  ]);
  client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
}, 240_000);

afterAll(async () => {
  await plain?.remove();
  await egress?.remove();
  await dev?.stop();
  await hub?.stop();
});

describe.skipIf(Boolean(skipReason))("a job with network.allow", () => {
  it("fetches from an allowed host through its provider's proxy, reaches nothing else, and reports what it moved", async () => {
    const script = [
      "wget -q -O /outputs/weights.bin http://model-hub.test/weights.bin; echo $? > /outputs/allowed.code",
      "wget -q -O /dev/null http://other-host.test/weights.bin; echo $? > /outputs/other.code",
      "wget -q -O /dev/null http://private-name.test/weights.bin; echo $? > /outputs/private.code",
      `nc -w 3 ${HUB} 80 < /dev/null; echo $? > /outputs/raw.code`,
      `nslookup model-hub.test ${HUB} > /dev/null 2>&1; echo $? > /outputs/dns.code`,
      "cat /proc/net/dev > /outputs/interfaces.txt",
    ].join("; ");
    const job = await finished(spec(script, { network: { allow: ["model-hub.test", "private-name.test"] } }));
    expect(job.status, job.error ?? "").toBe("succeeded");
    expect(job.provider, "only the provider offering egress takes it").toBe(egress.address);
    expect(await text(job, "allowed.code")).toBe("0");
    expect(sha256(await client.downloadOutput(job.id, "weights.bin"))).toBe(sha256(hubWeights));
    // Not on the allowlist; allowed by name but resolving to an address nobody named; no route; no DNS.
    for (const refused of ["other.code", "private.code", "raw.code", "dns.code"]) expect(await text(job, refused), refused).not.toBe("0");
    const interfaces = (await text(job, "interfaces.txt")).split("\n").slice(2).map((line) => line.trim().split(":")[0]);
    expect(interfaces).toEqual(["lo"]);
    const hubUsage = job.metrics.egress?.hosts.find((entry) => entry.host === "model-hub.test" && entry.port === 80);
    expect(hubUsage?.bytes_in).toBeGreaterThanOrEqual(WEIGHTS_BYTES);
    expect(hubUsage?.connections).toBe(1);
    expect(job.metrics.egress?.hosts.some((entry) => entry.host === "other-host.test")).toBe(false);
    expect(job.metrics.egress?.refused).toBeGreaterThanOrEqual(2);
    // Which hosts, and why, came through the signed result and the API to the creator.
    expect(job.metrics.egress?.refusals).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ host: "other-host.test", port: 80, status: 403, reason: "other-host.test:80 is not in this job's network allow list" }),
        expect.objectContaining({ host: "private-name.test", port: 80, status: 403 }),
      ]),
    );
  });

  it("is counted whole across a kill -9 and restart of its provider: one budget, and the whole job's usage", async () => {
    const script = "wget -q -O /dev/null http://model-hub.test/weights.bin; sleep 25; wget -q -O /dev/null http://model-hub.test/weights.bin; echo ok > /outputs/done.txt";
    const created = await client.createJob(spec(script, { network: { allow: ["model-hub.test"] } }) as never);
    await client.waitForJob(created.id, { until: (job) => job.status === "processing" });
    // The first download is in the job's record (written every 2 s while its egress moves) before the daemon dies.
    const record = join(jobWorkDir(egress.dataDir, created.id), "job.json");
    await eventually(async () => {
      const written = JSON.parse(await readFile(record, "utf8").catch(() => "{}")) as { egress?: { bytes: number } };
      return (written.egress?.bytes ?? 0) >= WEIGHTS_BYTES;
    }, { what: "the first download in the job's record", timeoutMs: 20_000 });
    await egress.stop("SIGKILL");
    egress = await egress.restart();
    const done = await client.waitForJob(created.id, { timeoutMs: 150_000 });
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.provider).toBe(egress.address);
    expect(done.attempt).toBe(0);
    const hubUsage = done.metrics.egress?.hosts.find((entry) => entry.host === "model-hub.test" && entry.port === 80);
    expect(hubUsage?.connections).toBe(2);
    expect(hubUsage?.bytes_in).toBeGreaterThanOrEqual(2 * WEIGHTS_BYTES);
  });

  it("that moves more than the provider's budget fails, saying so", async () => {
    const job = await finished(spec("wget -q -O /dev/null http://model-hub.test/big; sleep 30", { network: { allow: ["model-hub.test"] } }));
    expect(job.provider).toBe(egress.address);
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(new RegExp(`egress.*budget of ${BUDGET_MB * 1024 * 1024} bytes`));
  });
});

describe.skipIf(Boolean(skipReason))("a job without network.allow", () => {
  it("goes to the cheaper provider without egress and has loopback only", async () => {
    const job = await finished(spec("cat /proc/net/dev > /outputs/interfaces.txt; env > /outputs/env.txt; wget -q -T 3 -O /dev/null http://model-hub.test/weights.bin; echo $? > /outputs/fetch.code"));
    expect(job.status, job.error ?? "").toBe("succeeded");
    expect(job.provider).toBe(plain.address);
    expect((await text(job, "interfaces.txt")).split("\n").slice(2).map((line) => line.trim().split(":")[0])).toEqual(["lo"]);
    expect(await text(job, "env.txt")).not.toMatch(/_proxy=/i);
    expect(await text(job, "fetch.code")).not.toBe("0");
  });
});
