// A provider that lies about its outputs: it speaks the hub protocol by hand
// (rawProvider.ts), accepts offers with real signed acceptances, and reports
// results it made up, uploaded and signed with the daemon's own modules
// (provider/results.ts), so its claims look exactly like an honest daemon's. No
// container runs: `forge` writes the outputs the job "produced". For tests of
// what a challenge does to a cheater among honest providers.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { jobAcceptanceTypes, pondDomain } from "../../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type OfferMessage, type ProviderPricing, type ProviderResources } from "../../protocol/hubMessages.ts";
import { buildResult } from "../../provider/results.ts";
import { connectRawProvider, type RawProvider } from "./rawProvider.ts";

export interface LyingProviderOptions {
  api: string;
  account: PrivateKeyAccount;
  resources?: ProviderResources;
  pricing?: ProviderPricing;
  /** Writes the outputs this provider claims the job produced into `outputsDir`. */
  forge(offer: OfferMessage, outputsDir: string): Promise<void>;
}

export interface LyingProvider {
  address: string;
  /** Jobs it reported, in order. */
  reported: string[];
  stop(): Promise<void>;
}

export async function startLyingProvider(options: LyingProviderOptions): Promise<LyingProvider> {
  const raw = await connectRawProvider(options.api, options.account.address.toLowerCase() as Hex, options.account);
  const welcome = await raw.next("welcome");
  if (welcome.type !== "welcome") throw new Error("the hub did not welcome the lying provider");
  const domain = pondDomain(welcome.chain_id, welcome.verifying_contract as Hex);
  raw.send({
    v: HUB_PROTOCOL_VERSION,
    type: "advertise",
    resources: options.resources ?? { cpus: 4, memory_mb: 4096, disk_free_mb: 10_000, gpus: [] },
    pricing: options.pricing ?? { gpu_second_wei: "0", cpu_second_wei: "500000000" },
    running: [],
    agent: "lying-provider/test",
  });
  const reported: string[] = [];
  const work = new Set<Promise<void>>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      // Until the socket closes (stop()): a wait for the next offer must not outlive it.
      const offer = await Promise.race([raw.next("job.offer", 3_600_000).catch(() => undefined), raw.closed.then(() => undefined)]);
      if (!offer || offer.type !== "job.offer") return;
      const done = runLie(raw, options, domain, offer).then((jobId) => void (jobId && reported.push(jobId)));
      work.add(done);
      void done.finally(() => work.delete(done));
    }
  })();
  return {
    address: options.account.address.toLowerCase(),
    reported,
    async stop() {
      stopped = true;
      raw.socket.close();
      await Promise.allSettled([loop, ...work]);
    },
  };
}

/** Accepts, "runs" and reports one job; the job's id once its result was sent. */
async function runLie(raw: RawProvider, options: LyingProviderOptions, domain: ReturnType<typeof pondDomain>, offer: OfferMessage): Promise<string | undefined> {
  const signature = await options.account.signTypedData({
    domain,
    types: jobAcceptanceTypes,
    primaryType: "JobAcceptance",
    message: { jobId: offer.chain_job_id as Hex, maxAmount: BigInt(offer.max_amount_wei) },
  });
  raw.send({ v: HUB_PROTOCOL_VERSION, type: "job.accept", job_id: offer.job_id, signature });
  await waitForStart(raw, offer.job_id);
  raw.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: offer.job_id, phase: "running" });
  const outputsDir = await mkdtemp(join(tmpdir(), "pond-lying-outputs-"));
  try {
    await options.forge(offer, outputsDir);
    const result = await buildResult(
      { api: options.api, account: options.account, domain, maxOutputBytes: 1024 * 1024 * 1024, inlineOutputs: true },
      offer,
      { outcome: "succeeded", exitCode: 0, error: null, pullMs: 0, runMs: 1_000, outputsDir },
    );
    raw.send(result);
    return offer.job_id;
  } finally {
    await rm(outputsDir, { recursive: true, force: true });
  }
}

/** The hub's go for this job (job.start); starts for other jobs stay queued for their own waiters. */
async function waitForStart(raw: RawProvider, jobId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const index = raw.messages.findIndex((message) => message.type === "job.start" && message.job_id === jobId);
    if (index >= 0) {
      raw.messages.splice(index, 1);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the hub never started ${jobId} after its acceptance`);
}
