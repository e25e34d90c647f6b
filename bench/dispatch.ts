// `npm run bench:dispatch`: 200 short jobs through the local stack (wrangler
// dev, a provider daemon, the Docker engine), one after another, timing each
// phase — queue → match, match → container running, running → result,
// result → webhook — against a plain Docker run of the same image, command
// and sandbox measured in the same run. Pond's overhead is the difference.
import { writeFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import Docker from "dockerode";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../sdk/index.ts";
import { containerOptions } from "../provider/executor/sandbox.ts";
import type { Job } from "../protocol/job.ts";
import { TEST_IMAGE } from "../test/helpers/docker.ts";
import { startProvider } from "../test/helpers/providerProcess.ts";
import { startWebhookReceiver } from "../test/helpers/webhookReceiver.ts";
import { startWranglerDev } from "../test/helpers/wranglerDev.ts";
import { daemonPhases } from "./lib/daemonPhases.ts";
import { startTcpDelayRelay } from "./lib/tcpDelayRelay.ts";
import { printTable, summarize, writeReport } from "./lib/report.ts";

const JOBS = Number(process.env.BENCH_JOBS ?? 200);
const HUB_RTT_MS = Number(process.env.BENCH_HUB_RTT_MS ?? 0);
const GOAL_OVERHEAD_MS = 150;
/** Issue 22: Pond POST → webhook within this many times the plain run, at p50. */
const GOAL_RATIO = 1.5;
const COMMAND = "echo hi > /outputs/hi.txt";
const spec = { image: TEST_IMAGE, cmd: ["sh", "-c", COMMAND], resources: { gpus: 0, cpus: 0.5, memory_mb: 128 }, timeout_s: 30, max_price_wei: "1000000000000000000" };

async function plainDockerRun(docker: Docker): Promise<number> {
  const started = performance.now();
  const container = await docker.createContainer(containerOptions({ jobId: "bench", provider: "bench", spec, gpuUuids: [], inputsDir: "/tmp/pond-bench-in", outputsDir: "/tmp/pond-bench-out" }));
  await container.start();
  await container.wait();
  await container.remove({ force: true });
  return performance.now() - started;
}

/**
 * One at a time means each run finds the machine quiet: the daemon's cleanup of the job before
 * (container and volume removed, the next spare folder formatted) is over before the next plain
 * run or Pond job starts, so neither is timed beside it.
 */
async function daemonQuiet(jobId: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const output = provider.process.output();
    const cleaned = output.includes(`"job":"${jobId}"`) && new RegExp(`"job":"${jobId}"[^\n]*"msg":"job cleaned up"`).test(output);
    const spares = output.split('"msg":"spare job folder ready"').length - 1;
    const cleanups = output.split('"msg":"job cleaned up"').length - 1;
    if (cleaned && spares > cleanups) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  console.warn(`the daemon did not say job ${jobId} was cleaned up and a spare folder made within 10 s; going on`);
}

const arrivals = new Map<string, number>();
const receiver = await startWebhookReceiver({
  onReceive: (_inbox, webhook) => {
    const body = JSON.parse(webhook.body) as { data: { id: string } };
    arrivals.set(body.data.id, performance.now());
  },
});
const dev = await startWranglerDev({ HUB_SHARDS: "4" });
// BENCH_HUB_RTT_MS: the daemon as far from the hub as a provider on the internet is (its socket and uploads delayed).
const link = HUB_RTT_MS > 0 ? await startTcpDelayRelay(dev.url, HUB_RTT_MS) : undefined;
const provider = await startProvider(link?.url ?? dev.url, ["--max-cpus", "2", "--max-memory-mb", "2048"]).catch(async (error: unknown) => {
  await link?.close();
  await dev.stop();
  await receiver.close();
  throw error;
});
try {
  const docker = new Docker();
  const { mkdir } = await import("node:fs/promises");
  await mkdir("/tmp/pond-bench-in", { recursive: true });
  await mkdir("/tmp/pond-bench-out", { recursive: true, mode: 0o777 });
  const client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
  const { secret } = (await client.request("GET", "/v1/webhooks/default/secret")) as { secret: string };
  await fetch(`${receiver.url}/inbox/bench`, { method: "PUT", body: JSON.stringify({ secret }) });

  // Warm both paths once, unmeasured.
  await plainDockerRun(docker);
  await client.waitForJob((await client.createJob(spec)).id);

  const baseline: number[] = [];
  const totals: number[] = [];
  const jobs: Job[] = [];
  for (let i = 0; i < JOBS; i++) {
    baseline.push(await plainDockerRun(docker));
    const sent = performance.now();
    const created = await client.createJob({ ...spec, webhook: `${receiver.url}/hooks/bench`, webhook_events_filter: ["job.succeeded"] });
    while (!arrivals.has(created.id)) await new Promise((resolve) => setTimeout(resolve, 1));
    totals.push(arrivals.get(created.id)! - sent);
    jobs.push(await client.getJob(created.id));
    await daemonQuiet(created.id);
  }
  if (jobs.some((job) => job.status !== "succeeded")) throw new Error("a benchmark job did not succeed");

  const webhookMs = jobs.map((job, i) => {
    // The webhook's arrival, on the same clock as completed_at: the sending moment plus the measured total.
    const completed = Date.parse(job.completed_at!);
    const created = Date.parse(job.created_at);
    return created + totals[i]! - completed;
  });
  const phases = {
    "queue → match (queue_ms)": summarize(jobs.map((j) => j.metrics.queue_ms!)),
    "match → running (pull_ms)": summarize(jobs.map((j) => j.metrics.pull_ms!)),
    "running → result (run_ms)": summarize(jobs.map((j) => j.metrics.run_ms!)),
    "result → webhook": summarize(webhookMs),
    "Pond total: POST → webhook": summarize(totals),
    "plain docker run (baseline)": summarize(baseline),
  };
  printTable(`Dispatch: ${JOBS} jobs, one at a time${HUB_RTT_MS > 0 ? `, the daemon ${HUB_RTT_MS} ms (round trip) from the hub` : ""}`, ["phase", "p50 ms", "p99 ms"], Object.entries(phases).map(([name, s]) => [name, s.p50, s.p99]));
  const inDaemon = daemonPhases(provider.process.output(), jobs.map((job) => job.id));
  // BENCH_DAEMON_LOG=path keeps the daemon's whole debug log, to read a slow phase line by line.
  if (process.env.BENCH_DAEMON_LOG) await writeFile(process.env.BENCH_DAEMON_LOG, provider.process.output());
  printTable("Inside the provider daemon (its log's clock; container exit on Docker's)", ["phase", "n", "p50 ms", "p99 ms"], Object.entries(inDaemon).map(([name, samples]) => {
    const s = summarize(samples);
    return [name, s.n, s.p50, s.p99];
  }));
  const overheadP50 = phases["Pond total: POST → webhook"].p50 - phases["plain docker run (baseline)"].p50;
  const overheadP99 = phases["Pond total: POST → webhook"].p99 - phases["plain docker run (baseline)"].p99;
  console.log(`\nPond's added overhead: p50 ${overheadP50.toFixed(1)} ms, p99 ${overheadP99.toFixed(1)} ms`);
  const ratioP50 = phases["Pond total: POST → webhook"].p50 / phases["plain docker run (baseline)"].p50;
  console.log(`ratio Pond / plain docker run at p50: ${ratioP50.toFixed(2)}×`);
  console.log(`goal: overhead ≤ ${GOAL_OVERHEAD_MS} ms at p50: ${overheadP50 <= GOAL_OVERHEAD_MS ? "met" : "NOT met"}`);
  console.log(`goal (issue 22): ≤ ${GOAL_RATIO}× the plain run at p50: ${ratioP50 <= GOAL_RATIO ? "met" : "NOT met"}`);
  console.log(`report: ${await writeReport("dispatch", { jobs: JOBS, phases, overheadP50, overheadP99 })}`);
} finally {
  await provider.remove();
  await link?.close();
  await dev.stop();
  await receiver.close();
}
