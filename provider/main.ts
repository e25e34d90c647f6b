// `npm run provider -- --api URL`: the provider daemon, headless.
// `npm run provider -- doctor`: what this machine offers and what is missing.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Command } from "commander";
import Docker from "dockerode";
import { ConfigError, loadConfig, type ProviderConfig } from "./config.ts";
import { HubClient } from "./connection/hubClient.ts";
import { ProviderDaemon } from "./daemon.ts";
import { DataPlane } from "./dataplane/dataPlane.ts";
import { InputCache } from "./dataplane/inputCache.ts";
import { prepullImages } from "./executor/imagePull.ts";
import { PrivateImages } from "./executor/privateImages.ts";
import { registryHostPolicy } from "./executor/registryHost.ts";
import { DockerExecutor, STOP_GRACE_S } from "./executor/docker.ts";
import { KeyFileError, loadOrCreateKeyFile } from "../keys/keyFile.ts";
import { createLogger } from "./log.ts";
import { ResultOutbox } from "./outbox.ts";
import { heartbeatFileIn, startHeartbeat } from "./heartbeat.ts";
import { probeOutputFilesystem } from "./executor/outputVolume.ts";
import { recoverLeftovers } from "./recovery/recover.ts";
import { SpareJobFolders } from "./executor/spareJobFolders.ts";
import { egressSettingsOf } from "./egress/jobEgress.ts";
import { probeEgressSupport } from "./egress/jobNetwork.ts";
import { detectResources } from "./resources/detect.ts";
import { GpuSampler } from "./resources/gpuSampler.ts";
import { WarmAdvertiser } from "./warmAdvertiser.ts";
import { Watchdogs } from "./watchdog/spawn.ts";

/** Past a job's deadline the daemon stops it (SIGTERM, grace, SIGKILL); its watchdog waits that long and a little more. */
const WATCHDOG_BACKSTOP_MS = STOP_GRACE_S * 1000 + 10_000;
/** Without --input-cache-mb, the input cache may take this share of the data folder's free disk at start. */
const DEFAULT_CACHE_SHARE = 0.25;

/** A flag given more than once collects its values. */
const repeatable = (value: string, previous: string[] = []) => [...previous, value];

const program = new Command("pond-provider")
  .description("Run Pond's provider daemon: take GPU jobs from the network and run them in Docker")
  .option("--api <url>", "the Pond API to connect to")
  .option("--config <file>", "a JSON config file")
  .option("--data-dir <dir>", "where the key, outbox and job files live (default ~/.pond/provider)")
  .option("--key-file <file>", "the provider's private key (created on first start)")
  .option("--gpu-second-wei <wei>", "price per GPU-second, in wei")
  .option("--cpu-second-wei <wei>", "price per CPU-second, in wei")
  .option("--pull <policy>", "image pull policy: missing | always | never")
  .option("--nvidia-smi <path>", "the nvidia-smi binary")
  .option("--max-cpus <n>", "offer at most this many CPUs")
  .option("--max-memory-mb <n>", "offer at most this much memory")
  .option("--drain-timeout-s <s>", "on SIGTERM, wait this long for running jobs")
  .option("--max-output-bytes <n>", "the most a job may write to /outputs; a job writing more is stopped")
  .option("--log-level <level>", "trace | debug | info | warn | error")
  .option("--output-retention-s <s>", "keep a finished job's outputs this long to serve them peer to peer (default 3600; 0: none)")
  .option("--p2p-connect-timeout-ms <ms>", "wait this long for a peer connection before using the R2 relay (default 5000)")
  .option("--input-wait-s <s>", "how long a job waits for its creator's inputs to reach the relay (default 600)")
  .option("--webrtc-bind-address <ip>", "gather WebRTC candidates on this local address only")
  .option("--input-cache-mb <mb>", "keep input files by sha256 for later jobs, in at most this much disk (default: a quarter of the free disk; 0: none)")
  .option("--prepull <image>", "pull this image at start and keep it warm (repeatable)", repeatable)
  .option("--egress", "take jobs that may reach the hosts on their allowlist, through a proxy this daemon runs (off by default)")
  .option("--egress-deny <host>", "a host no job may reach here, whatever its allowlist (host, host:port or *.domain; repeatable)", repeatable)
  .option("--egress-budget-mb <mb>", "the most one job may move through the egress proxy, in and out (default 10240)")
  .option("--egress-max-connections <n>", "the most connections one job may hold open through the egress proxy (default 32)")
  .option("--egress-rate-mb <MiB/s>", "the most all jobs' egress together may move a second, in and out (default: no cap)")
  .option("--egress-allow-addresses <ip>", "development and tests only: count this non-public address reachable (repeatable)", repeatable)
  .option("--egress-resolve <name=ip>", "development and tests only: answer this name with this address instead of a DNS lookup (repeatable)", repeatable)
  .option("--registry-allow-addresses <ip>", "development and tests only: let jobs' images be pulled from this non-public address, e.g. a registry on 127.0.0.1 (repeatable)", repeatable);

async function prepare(flags: Record<string, unknown>) {
  const config = await loadConfig(flags as Partial<Record<keyof ProviderConfig, unknown>> & { config?: string });
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const log = createLogger(config.logLevel);
  const docker = new Docker(); // DOCKER_HOST, else the default socket: as the docker CLI finds it
  const { account, created } = await loadOrCreateKeyFile(config.keyFile);
  if (created) log.info({ keyFile: config.keyFile }, "generated a new provider key");
  const detection = await detectResources(docker, {
    dataDir: config.dataDir,
    nvidiaSmi: config.nvidiaSmi,
    ...(config.maxCpus !== undefined ? { maxCpus: config.maxCpus } : {}),
    ...(config.maxMemoryMb !== undefined ? { maxMemoryMb: config.maxMemoryMb } : {}),
  });
  // Tried for real: a size-limited /outputs needs root, a loop device and mkfs.ext4.
  const outputs = await probeOutputFilesystem(config.dataDir);
  return { config, log, docker, account, detection, outputs };
}

program.action(async (flags: Record<string, unknown>) => {
  const { config, log, docker, account, detection, outputs } = await prepare(flags);
  for (const note of detection.docker.problems) log.error(note);
  if (!detection.docker.reachable) process.exit(2);
  const egressSupport = config.egress ? await probeEgressSupport() : undefined;
  if (egressSupport && !egressSupport.ok) {
    log.error(`--egress cannot be offered on this host: ${egressSupport.reason}`);
    process.exit(2);
  }
  const egress = config.egress ? egressSettingsOf(config) : undefined;
  for (const note of detection.notes) log.warn(note);
  console.log(`provider address: ${account.address}`);
  log.info({ address: account.address, engine: detection.docker.engine, resources: detection.resources }, "starting");

  // First, so the watchdog an earlier run left sees this daemon is back.
  const heartbeatFile = heartbeatFileIn(config.dataDir);
  const heartbeat = await startHeartbeat(heartbeatFile, {
    onError: (error) => log.warn({ err: error }, "could not renew the heartbeat file"),
    onLate: (lateMs) => log.warn({ lateMs }, "the daemon's heartbeat came late: something held its event loop"),
  });
  if (outputs.reason) log.warn(outputs.reason);
  const watchdogs = new Watchdogs({ dir: join(config.dataDir, "watchdog"), heartbeatFile, backstopMs: WATCHDOG_BACKSTOP_MS, log });
  await watchdogs.start();
  const privateImages = await PrivateImages.load(join(config.dataDir, "private-images.json"), docker);
  const executor = new DockerExecutor(docker, log, {
    pullPolicy: config.pull,
    provider: account.address.toLowerCase(),
    maxOutputBytes: config.maxOutputBytes,
    outputVolume: outputs.kind,
    privateImages,
    registryHosts: registryHostPolicy(config.registryAllowAddresses),
  });
  const outbox = new ResultOutbox(join(config.dataDir, "outbox.json"), log);
  await outbox.load();
  const recovered = await recoverLeftovers({ executor, jobsRoot: join(config.dataDir, "jobs"), outbox, log });
  const hub = new HubClient({ api: config.api, account, log });
  const inputCache = new InputCache({
    root: join(config.dataDir, "cache", "inputs"),
    budgetBytes: (config.inputCacheMb ?? Math.floor(detection.resources.disk_free_mb * DEFAULT_CACHE_SHARE)) * 1024 * 1024,
    log,
  });
  await inputCache.load();
  log.info({ budgetMb: Math.round(inputCache.budgetBytes / 1024 / 1024), cachedMb: Math.round(inputCache.usedBytes / 1024 / 1024) }, "input cache");
  const warm = new WarmAdvertiser({ hub, docker, cache: inputCache, log, prepull: config.prepull });
  const dataPlane = new DataPlane({
    api: config.api,
    account,
    hub,
    dataDir: config.dataDir,
    log,
    outputRetentionS: config.outputRetentionS,
    p2pConnectTimeoutMs: config.p2pConnectTimeoutMs,
    inputWaitS: config.inputWaitS,
    ...(config.webrtcBindAddress ? { webrtcBindAddress: config.webrtcBindAddress } : {}),
    ...(inputCache.enabled ? { inputCache } : {}),
  });
  await dataPlane.start();
  const spares = new SpareJobFolders({ root: join(config.dataDir, "spare"), capBytes: config.maxOutputBytes, kind: outputs.kind, log });
  await spares.start();
  // The same nvidia-smi that found the GPUs: what each job's GPUs did goes into its result.
  const gpuSampler = detection.resources.gpus.length > 0 ? new GpuSampler({ nvidiaSmi: config.nvidiaSmi, log }) : undefined;
  const daemon = new ProviderDaemon({
    api: config.api,
    account,
    resources: { ...detection.resources, ...(egress ? { egress: true } : {}) },
    pricing: { gpu_second_wei: config.gpuSecondWei, cpu_second_wei: config.cpuSecondWei },
    dataDir: config.dataDir,
    maxOutputBytes: config.maxOutputBytes,
    hub,
    executor,
    outbox,
    watchdogs,
    log,
    dataPlane,
    warm,
    spares,
    ...(egress ? { egress } : {}),
    ...(gpuSampler ? { gpuSampler } : {}),
  });
  daemon.carryOn(recovered.adopt, recovered.awaitStart);
  hub.start();
  warm.start();
  // In the background: jobs are taken meanwhile.
  void prepullImages(docker, config.prepull, log).then(() => warm.changed());

  let signals = 0;
  const shutdown = async (signal: string) => {
    signals += 1;
    if (signals > 1) {
      log.warn("second signal: canceling running jobs");
      daemon.cancelAll();
      return;
    }
    log.info({ signal, jobs: daemon.activeJobs.length }, "draining: no new jobs; waiting for running ones");
    if (!(await daemon.drain(config.drainTimeoutS * 1000))) {
      log.warn({ jobs: daemon.activeJobs }, "the drain timeout passed: canceling what still runs");
      daemon.cancelAll();
      // Long enough for a stop (SIGTERM, grace, SIGKILL) and the canceled results to go out.
      if (!(await daemon.drain(STOP_GRACE_S * 1000 + 5_000))) log.error({ jobs: daemon.activeJobs }, "jobs did not stop in time");
    }
    // A backstop: no container of this provider outlives a daemon that shut down on purpose.
    const removed = await executor.removeAll().catch((error: unknown) => {
      log.error({ err: error }, "could not remove this provider's containers");
      return 0;
    });
    if (removed > 0) log.warn({ removed }, "removed containers still running at shutdown");
    await spares.close();
    heartbeat.stop();
    gpuSampler?.stop();
    warm.stop();
    dataPlane.stop();
    hub.stop();
    process.exit(0);
  };
  process.on("SIGTERM", (signal) => void shutdown(signal));
  process.on("SIGINT", (signal) => void shutdown(signal));
});

program
  .command("doctor")
  .description("check Docker, GPUs and configuration, and say what to fix")
  .action(async () => {
    const { account, detection, outputs } = await prepare(program.opts());
    console.log(`provider address: ${account.address}`);
    console.log(`docker: ${detection.docker.reachable ? detection.docker.engine : "unreachable"}`);
    console.log(`cpus: ${detection.resources.cpus}, memory: ${detection.resources.memory_mb} MiB, free disk: ${detection.resources.disk_free_mb} MiB`);
    for (const gpu of detection.resources.gpus) console.log(`gpu ${gpu.index}: ${gpu.model} (${gpu.vram_mb} MiB, ${gpu.uuid}, driver ${gpu.driver ?? "?"})`);
    console.log(`outputs: ${outputs.kind === "filesystem" ? "a size-limited filesystem per job (writes past the cap get ENOSPC)" : "a plain folder, watched"}`);
    for (const line of [...detection.docker.problems, ...detection.notes, ...(outputs.reason ? [outputs.reason] : [])]) console.log(`! ${line}`);
    process.exit(detection.docker.reachable ? 0 : 2);
  });

program.parseAsync().catch((error: unknown) => {
  // Mistakes the user can fix get their message; anything else is a bug, with its stack.
  if (error instanceof ConfigError || error instanceof KeyFileError) {
    console.error(`pond-provider: ${error.message}`);
    process.exit(1);
  }
  console.error(error);
  process.exit(70);
});
