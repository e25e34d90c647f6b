// `npm run bench:ml`: ML work on the local stack (wrangler dev, a local
// registry, two provider daemons on one Docker engine), in one run:
// - POST /v1/jobs → container running for the PyTorch image, cold (every layer
//   pulled from the local registry) and warm, beside a plain `docker run` of the
//   same image with the same sandbox on the same engine;
// - a job with a 1 GiB input, first (moved peer to peer) and again (from the
//   provider's cache), and what the cached input adds to a job's start;
// - where repeat jobs land: on the provider that holds their input whenever it
//   has room (it is the dearer one, so price alone would send them elsewhere),
//   and at once on the other when it has none;
// - the training template end to end, POST to its outputs on disk;
// - a pipeline's input (an earlier job's output) fetched by the next job's provider
//   from the provider that made it, beside the same bytes read from R2.
// Every figure and ratio is printed; nothing is asserted.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Docker from "dockerode";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { collectInputs, type LocalInputs } from "../cli/dataplane/inputFiles.ts";
import { InputsServer } from "../cli/dataplane/inputsServer.ts";
import { fetchOutputs } from "../cli/dataplane/outputsDownload.ts";
import { uploadToRelay } from "../cli/dataplane/relayUpload.ts";
import { SignalingSocket } from "../cli/dataplane/signalingSocket.ts";
import { SpareTransferProcesses } from "../p2p/node/isolated/transferProcesses.ts";
import type { Job } from "../protocol/job.ts";
import { containerOptions } from "../provider/executor/sandbox.ts";
import { publishMlTemplates } from "../scripts/localTemplates.ts";
import { PondClient } from "../sdk/index.ts";
import { TEST_IMAGE } from "../test/helpers/docker.ts";
import { mlImageForTests } from "../test/helpers/mlImage.ts";
import { startProvider, type ProviderProcess } from "../test/helpers/providerProcess.ts";
import { startRegistry, type LocalRegistry } from "../test/helpers/registry.ts";
import { startWranglerDev, type WranglerDev } from "../test/helpers/wranglerDev.ts";
import { coldCopyOf } from "./lib/coldImage.ts";
import { printTable, summarize, writeReport } from "./lib/report.ts";

const WARM_RUNS = Number(process.env.BENCH_ML_WARM_RUNS ?? 5);
const REPEATS = Number(process.env.BENCH_ML_REPEATS ?? 10);
const INPUT_BYTES = 1024 ** 3;
const PIPELINE_BYTES = 256 * 1024 ** 2;
const GOALS = { warmRatio: 1.3, cachedInputAddsMs: 200, placement: 1 };
const LOOPBACK = "127.0.0.1";
const P2P = { enabled: true, connectTimeoutMs: 5_000, bindAddress: LOOPBACK };
const quiet = { update() {}, finish() {} };
const docker = new Docker();

const load = () => loadavg().map((l) => l.toFixed(1)).join(" ");
console.log(`load average at start: ${load()} (${cpus().length} cores)`);

const work = await mkdtemp(join(tmpdir(), "pond-bench-ml-"));
await mkdir(join(work, "in"));
await mkdir(join(work, "out"), { mode: 0o777 });
let registry: LocalRegistry | undefined;
let dev: WranglerDev | undefined;
const providers: ProviderProcess[] = [];
let evictCold: (() => Promise<void>) | undefined;
let creatorProcesses: SpareTransferProcesses | undefined;
try {
  console.log("the PyTorch image (built once, minutes; found at once after) …");
  const localImage = await mlImageForTests();
  [registry, dev] = await Promise.all([startRegistry(), startWranglerDev()]);
  const flags = (cpuSecondWei: string) => ["--max-cpus", "1", "--max-memory-mb", "2048", "--cpu-second-wei", cpuSecondWei, "--input-cache-mb", "4096", "--webrtc-bind-address", LOOPBACK, "--p2p-connect-timeout-ms", "5000"];
  const dear = await startProvider(dev.url, flags("3000000000"));
  providers.push(dear);
  const cheap = await startProvider(dev.url, flags("1000000000"));
  providers.push(cheap);
  const nameOf = (address: string | null) => (address === dear.address ? "dear" : address === cheap.address ? "cheap" : String(address));

  const client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
  const templates = await publishMlTemplates({ api: dev.url, registry, stateDir: work, localImage });

  console.log("a cold copy of the image (one layer no image here shares, in the registry only) …");
  const cold = await coldCopyOf(localImage, registry, Date.now().toString(36));
  evictCold = cold.evict;
  const spec = (extra: Record<string, unknown> = {}) => ({ image: cold.pinned, cmd: ["true"], resources: { gpus: 0, cpus: 1, memory_mb: 1024 }, timeout_s: 600, max_price_wei: "1000000000000000000", ...extra });

  // The creator's side of inputs, as pond run serves them, with one pool of transfer processes started
  // ahead for the whole run: on one 2-core machine, a process loading for each job (pond run's, on the
  // creator's own machine in real use) would slow the provider's container start beside it.
  async function serveInputs(jobId: string, inputs: LocalInputs): Promise<() => void> {
    const socket = await SignalingSocket.open(client.baseUrl, client.apiKey!, jobId);
    const { ice_servers } = await client.data.iceServers();
    const server = new InputsServer({
      socket,
      jobId,
      manifest: inputs.manifest,
      rootOf: inputs.rootOf,
      iceServers: ice_servers,
      connectTimeoutMs: P2P.connectTimeoutMs,
      bindAddress: LOOPBACK,
      processes: (creatorProcesses ??= new SpareTransferProcesses()),
      onRelayWanted: (why) => void uploadToRelay(client, jobId, inputs.manifest, inputs.source).catch((error: unknown) => console.error(`relay upload for ${jobId} failed (${why}): ${String(error)}`)),
    });
    return () => {
      server.close();
      socket.close();
    };
  }

  /** POST → container running (the job's started_at, on the same clock), and the job once it ended. */
  async function timedJob(request: Record<string, unknown>, inputs?: LocalInputs): Promise<{ ms: number; job: Job }> {
    const sent = Date.now();
    const created = await client.createJob(request as never);
    const stopServing = inputs ? await serveInputs(created.id, inputs) : undefined;
    const job = await client.waitForJob(created.id, { timeoutMs: 900_000, intervalMs: 100 });
    stopServing?.();
    if (job.status !== "succeeded") throw new Error(`job ${job.id} ${job.status}: ${job.error ?? job.status_detail ?? ""}`);
    return { ms: Date.parse(job.started_at!) - sent, job };
  }

  /** A plain `docker run` with Pond's sandbox: create → started. */
  async function plainRun(pull: boolean): Promise<number> {
    const started = performance.now();
    if (pull) await new Promise((resolve, reject) => docker.pull(cold.pinned, (error: Error | null, stream: NodeJS.ReadableStream) => (error ? reject(error) : docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve(undefined))))));
    const container = await docker.createContainer(containerOptions({ jobId: "bench-ml", provider: "bench", spec: spec() as never, gpuUuids: [], inputsDir: join(work, "in"), outputsDir: join(work, "out") }));
    await container.start();
    const ms = performance.now() - started;
    await container.wait();
    await container.remove({ force: true });
    return ms;
  }

  // ---- the image: cold, then warm beside plain docker run ----
  const coldPond = await timedJob(spec());
  await cold.evict();
  const coldPlain = await plainRun(true);
  const warmPond: number[] = [];
  const warmPlain: number[] = [];
  const warmJobs: Job[] = [];
  await plainRun(false); // the engine's caches, once, unmeasured (Pond's first warm job pays the same)
  for (let i = 0; i < WARM_RUNS; i++) {
    warmPlain.push(await plainRun(false));
    const run = await timedJob(spec());
    warmPond.push(run.ms);
    warmJobs.push(run.job);
  }

  // ---- a 1 GiB input: moved, then cached ----
  const file = join(work, "data.bin");
  const handle = await open(file, "w");
  for (let written = 0; written < INPUT_BYTES; written += 16 * 1024 * 1024) await handle.write(randomBytes(16 * 1024 * 1024));
  await handle.close();
  const inputs = await collectInputs([file]);
  // The cheap provider is kept busy, so the first input job lands on the dear one: from then on only its cache can bring repeats there.
  const blocker = await client.createJob({ image: TEST_IMAGE, cmd: ["sleep", "900"], resources: { gpus: 0, cpus: 1, memory_mb: 128 }, timeout_s: 900, max_price_wei: "1000000000000000000" });
  await client.waitForJob(blocker.id, { until: (job) => job.status === "processing", timeoutMs: 120_000 });
  const moved = await timedJob(spec({ input_files: inputs.specFiles }), inputs);
  const holder = moved.job.provider === dear.address ? dear : cheap;
  await client.cancelJob(blocker.id);
  await holder.process.waitFor(/"inputs":[1-9][0-9]*,"msg":"told the hub what is warm here"/, 60_000);

  // In turns, so the machine's load (2 cores, shared) weighs on both alike.
  const noInput: Array<{ ms: number; job: Job }> = [];
  const cached: Array<{ ms: number; job: Job }> = [];
  for (let i = 0; i < REPEATS; i++) {
    noInput.push(await timedJob(spec()));
    cached.push(await timedJob(spec({ input_files: inputs.specFiles }), inputs));
  }
  const onHolder = cached.filter((run) => run.job.provider === holder.address).length;

  // The holder has no room (a long job of the same kind holds it): the next repeat goes elsewhere at once.
  const long = await client.createJob(spec({ cmd: ["sleep", "900"], input_files: inputs.specFiles }) as never);
  const stopLong = await serveInputs(long.id, inputs);
  const held = await client.waitForJob(long.id, { until: (job) => job.status === "processing", timeoutMs: 600_000 });
  const overflow = await timedJob(spec({ input_files: inputs.specFiles }), inputs);
  await client.cancelJob(long.id);
  stopLong();
  creatorProcesses?.close();
  await inputs.source.close();

  // ---- the training template, POST → outputs on disk ----
  const trainRef = templates.find((ref) => ref.startsWith("pond/digits-train@"))!;
  const trainSent = performance.now();
  const trainCreated = await client.createJob({ template: trainRef, params: { epochs: 30 } });
  const trained = await client.waitForJob(trainCreated.id, { timeoutMs: 900_000, intervalMs: 100 });
  if (trained.status !== "succeeded") throw new Error(`the training job ${trained.status}: ${trained.error ?? ""}`);
  const outputsDir = join(work, "trained");
  const download = await fetchOutputs(client, P2P, trained, outputsDir, quiet, () => undefined);
  const trainTotalMs = performance.now() - trainSent;
  const trainMetrics = JSON.parse(await readFile(join(outputsDir, "metrics.json"), "utf8")) as { accuracy: number };

  // ---- a pipeline: the next job's input from the provider that made it, beside the same bytes from R2 ----
  const busybox = (cmd: string[], extra: Record<string, unknown> = {}) => ({ image: TEST_IMAGE, cmd, resources: { gpus: 0, cpus: 1, memory_mb: 128 }, timeout_s: 900, max_price_wei: "1000000000000000000", ...extra });
  const made = await client.waitForJob((await client.createJob(busybox(["sh", "-c", `head -c ${PIPELINE_BYTES} /dev/urandom > /outputs/data.bin`]) as never)).id, { timeoutMs: 600_000, intervalMs: 100 });
  if (made.status !== "succeeded") throw new Error(`the pipeline's source job ${made.status}: ${made.error ?? ""}`);
  const output = made.output!.files.find((file) => file.path === "data.bin")!;
  const fromMade = [{ path: "data.bin", size: output.size, sha256: output.sha256, from: { job: made.id, output: "data.bin" } }];
  // A long job taking the same input lands on its maker (whose cache holds it) and fills it: the next one goes to the other provider.
  const fill = await client.createJob(busybox(["sleep", "900"], { input_files: fromMade }) as never);
  const filled = await client.waitForJob(fill.id, { until: (job) => job.status === "processing", timeoutMs: 120_000 });
  const consumer = await timedJob(busybox(["true"], { input_files: fromMade }));
  await client.cancelJob(fill.id);
  const viaR2Started = performance.now();
  await fetchOutputs(client, { ...P2P, enabled: false }, made, join(work, "pipeline-r2"), quiet, () => undefined);
  const viaR2Ms = performance.now() - viaR2Started;

  // ---- figures ----
  const warmPondP50 = summarize(warmPond).p50;
  const warmPlainP50 = summarize(warmPlain).p50;
  const noInputP50 = summarize(noInput.map((run) => run.ms)).p50;
  const cachedP50 = summarize(cached.map((run) => run.ms)).p50;
  const cachedFetch = summarize(cached.map((run) => run.job.metrics.transfer.inputs?.ms ?? Number.NaN));
  const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
  printTable(`The PyTorch image (${mib(cold.bytes)} in the engine), POST /v1/jobs → container running`, ["run", "n", "p50 ms", "max ms"], [
    ["Pond, cold (pulled from the local registry)", 1, coldPond.ms, coldPond.ms],
    ["plain docker pull + run, cold", 1, coldPlain, coldPlain],
    ["Pond, warm", warmPond.length, warmPondP50, summarize(warmPond).max],
    ["plain docker run, warm", warmPlain.length, warmPlainP50, summarize(warmPlain).max],
  ]);
  const p50 = (values: Array<number | null | undefined>) => summarize(values.map((value) => value ?? Number.NaN)).p50;
  console.log(`cold job: the provider's pull ${coldPond.job.metrics.transfer.image?.ms ?? "?"} ms, image warm: ${coldPond.job.metrics.transfer.image?.warm}; warm jobs that said warm: ${warmJobs.filter((job) => job.metrics.transfer.image?.warm).length} of ${warmJobs.length}`);
  console.log(`warm jobs, p50: queued → assigned ${p50(warmJobs.map((job) => job.metrics.queue_ms))} ms, assigned → running ${p50(warmJobs.map((job) => job.metrics.pull_ms))} ms (offer, signed accept, start, image check, the job's size-capped /outputs volume, create, watchdog, start)`);
  console.log(`ratio Pond warm / plain docker run (p50): ${(warmPondP50 / warmPlainP50).toFixed(2)}× (goal ≤ ${GOALS.warmRatio}×: ${warmPondP50 / warmPlainP50 <= GOALS.warmRatio ? "met" : "NOT met"}); cold / warm: ${(coldPond.ms / warmPondP50).toFixed(1)}×; Pond cold / plain cold: ${(coldPond.ms / coldPlain).toFixed(2)}×`);

  const movedIn = moved.job.metrics.transfer.inputs;
  printTable("A 1 GiB input", ["run", "n", "route", "inputs ms (provider)", "POST → running p50 ms"], [
    ["first (moved)", 1, movedIn?.route ?? "?", movedIn?.ms ?? Number.NaN, moved.ms],
    ["again (cached)", cached.length, cached[0]?.job.metrics.transfer.inputs?.route ?? "?", cachedFetch.p50, cachedP50],
    ["no input (same image, warm)", noInput.length, "-", 0, noInputP50],
  ]);
  console.log(`assigned → running p50: cached ${p50(cached.map((run) => run.job.metrics.pull_ms))} ms, no input ${p50(noInput.map((run) => run.job.metrics.pull_ms))} ms (the creator's side, serving the inputs as pond run does, shares these 2 cores with the provider)`);
  if (movedIn) console.log(`moved: ${(movedIn.bytes / 1024 ** 2 / (movedIn.ms / 1000)).toFixed(1)} MiB/s`);
  console.log(`a cached 1 GiB input adds ${(cachedP50 - noInputP50).toFixed(0)} ms to POST → running (p50 vs the no-input job; the provider's own cache step p50 ${cachedFetch.p50} ms, max ${cachedFetch.max} ms); goal ≤ ${GOALS.cachedInputAddsMs} ms: ${cachedP50 - noInputP50 <= GOALS.cachedInputAddsMs ? "met" : "NOT met"}`);

  console.log(`\nrepeat jobs on the provider holding their input (the ${nameOf(holder.address)} one) while it had room: ${onHolder} of ${cached.length} (${((onHolder / cached.length) * 100).toFixed(0)}%; goal 100%: ${onHolder === cached.length ? "met" : "NOT met"})`);
  console.log(`with the holder full (${nameOf(held.provider)} running a long job), the next repeat went to the ${nameOf(overflow.job.provider)} provider after ${overflow.job.metrics.queue_ms} ms queued (repeats with room: p50 ${summarize(cached.map((run) => run.job.metrics.queue_ms ?? Number.NaN)).p50} ms), its input ${overflow.job.metrics.transfer.inputs?.route}`);

  printTable("pond/digits-train (30 epochs), POST → outputs on disk", ["phase", "ms"], [
    ["queue (queue_ms)", trained.metrics.queue_ms ?? Number.NaN],
    ["assigned → running (pull_ms)", trained.metrics.pull_ms ?? Number.NaN],
    ["running (run_ms)", trained.metrics.run_ms ?? Number.NaN],
    [`outputs download (${download.transfer?.route ?? "R2"})`, download.transfer?.ms ?? Number.NaN],
    ["total: POST → model.pt and metrics.json on disk", trainTotalMs],
  ]);
  console.log(`held-out accuracy: ${trainMetrics.accuracy}`);

  const piped = consumer.job.metrics.transfer.inputs;
  const rate = (ms: number) => (PIPELINE_BYTES / 1024 ** 2 / (ms / 1000)).toFixed(1);
  printTable(`A pipeline's ${mib(PIPELINE_BYTES)} input (an earlier job's output), the next job on the other provider`, ["how", "route", "ms", "MiB/s"], [
    ["the next job's provider, from the provider that made it", piped?.route ?? "?", piped?.ms ?? Number.NaN, piped ? rate(piped.ms) : "?"],
    ["the same output from R2 (the creator's download, same machine)", "R2", viaR2Ms, rate(viaR2Ms)],
  ]);
  console.log(`made on ${nameOf(made.provider)}, filled by a job on ${nameOf(filled.provider)}, the next job ran on ${nameOf(consumer.job.provider)}${consumer.job.provider === made.provider ? " (the maker itself: no pipeline transfer measured)" : ""}; peer to peer / R2: ${piped ? (piped.ms / viaR2Ms).toFixed(2) : "?"}× the time`);
  console.log(`load average at end: ${load()}`);
  console.log(
    `report: ${await writeReport("ml", {
      load: loadavg(),
      image: { bytes: cold.bytes, coldPondMs: coldPond.ms, coldPlainMs: coldPlain, warmPond, warmPlain, ratio: warmPondP50 / warmPlainP50 },
      input: { bytes: INPUT_BYTES, moved: { ms: moved.ms, transfer: movedIn }, cached: cached.map((run) => ({ ms: run.ms, transfer: run.job.metrics.transfer.inputs, provider: nameOf(run.job.provider) })), noInput: noInput.map((run) => run.ms) },
      placement: { holder: nameOf(holder.address), onHolder, repeats: cached.length, overflow: { provider: nameOf(overflow.job.provider), queueMs: overflow.job.metrics.queue_ms } },
      training: { totalMs: trainTotalMs, metrics: trained.metrics, accuracy: trainMetrics.accuracy },
      pipeline: { bytes: PIPELINE_BYTES, maker: nameOf(made.provider), next: nameOf(consumer.job.provider), transfer: piped, viaR2Ms },
      goals: GOALS,
    })}`,
  );
} finally {
  creatorProcesses?.close();
  for (const provider of providers) await provider.remove().catch(() => undefined);
  await dev?.stop();
  await registry?.stop();
  await evictCold?.().catch(() => undefined);
  await rm(work, { recursive: true, force: true });
}

