// A challenged job that reached the network: its mediator's re-run goes through
// the mediator's own egress proxy, as the job did through its provider's, so it
// fetches the same bytes and the honest result is upheld. On anvil with two
// staked daemons offering egress and the stand-in model hub (test/helpers/modelHub.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEther, type Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { PondClient } from "../../sdk/index.ts";
import { probeEgressSupport } from "../../provider/egress/jobNetwork.ts";
import { startChainStack, type ChainStack } from "../helpers/chainStack.ts";
import { CHALLENGE_OUTCOME, challengeJob, challengeOutcome } from "../helpers/challengeGame.ts";
import { shellJob } from "../helpers/jobs.ts";
import { startModelHub, type ModelHub } from "../helpers/modelHub.ts";
import { namespacesUnavailable } from "../helpers/netns.ts";
import type { ProviderProcess } from "../helpers/providerProcess.ts";

const skipReason = (await namespacesUnavailable()) ?? (await probeEgressSupport().then((s) => (s.ok ? undefined : s.reason)));
if (skipReason) console.warn(`SKIPPED egress challenge e2e: ${skipReason}`);

let hub: ModelHub | undefined;
let stack: ChainStack;
let accused: ProviderProcess;
let mediator: ProviderProcess;
let creator: { wallet: PrivateKeyAccount; client: PondClient };

beforeAll(async () => {
  if (skipReason) return;
  // Its own namespace and subnet, apart from egress.test.ts's (10.203.x).
  hub = await startModelHub(`c${process.pid % 1000}`, 204, 1 + (process.pid % 250));
  stack = await startChainStack({ params: { mediationTimeout: 600 } });
  const egress = ["--egress", "--egress-allow-addresses", hub.address, "--egress-resolve", `model-hub.test=${hub.address}`];
  const common = ["--max-cpus", "1", "--max-memory-mb", "1024", ...egress];
  accused = await stack.provider([...common, "--cpu-second-wei", "1000000000"], "3");
  mediator = await stack.provider([...common, "--cpu-second-wei", "9000000000"], "3");
  creator = await stack.creator("egress-disputer", "2");
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await hub?.stop();
});

describe.skipIf(Boolean(skipReason))("a challenged job with network.allow", () => {
  it("is re-run through the mediator's own egress proxy, fetches the same bytes, and is upheld", async () => {
    const script = "wget -q -O /outputs/weights.bin http://model-hub.test/weights.bin && sha256sum /outputs/weights.bin > /outputs/sum.txt";
    const created = await creator.client.createPaidJob(shellJob(script, { timeout_s: 90, max_price_wei: parseEther("0.01").toString(), network: { allow: ["model-hub.test"] } }), creator.wallet);
    const done = await creator.client.waitForJob(created.id, { timeoutMs: 150_000 });
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.provider).toBe(accused.address);
    const job = await challengeJob(stack, creator, done);
    const verdict = await challengeOutcome(stack, job.chain_job_id as Hex).catch((error: Error) => {
      // The mediator's own account of the re-run, to say why no verdict came.
      const lines = mediator.process.output().split("\n").filter((line) => line.includes(done.id));
      throw new Error(`${error.message}; the mediator's log of the job:\n${lines.join("\n")}`);
    });
    expect(verdict.mediator!.toLowerCase()).toBe(mediator.address);
    expect(verdict.outcome).toBe(CHALLENGE_OUTCOME.upheld);
    // Its re-run's own hash: the same bytes, fetched through its proxy.
    expect(verdict.mediatorResultHash).toBe(done.output!.result_hash);
    expect(mediator.process.output()).toMatch(/mediation verdict sent/);
  });
});
