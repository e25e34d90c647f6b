// Challenges judged by a declared comparison (protocol/verification.ts), on anvil
// with real daemons: pond/jitter's numbers and labels differ a little on every
// run, as an ML job's do from one machine to the next. Challenged, an honest
// provider is upheld (paid, nobody slashed); the same job declared exact is
// slashed, because the bytes differ (today's rule, unchanged); a provider whose
// outputs are gone from where it delivered them loses; and a provider that lies
// (a hostile participant speaking the real protocol, test/helpers/lyingProvider.ts)
// beyond the tolerance, in numbers or in labels, is slashed, its creator refunded
// and the mediator paid.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEther, type Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { sendMarketTx } from "../../cli/marketTx.ts";
import type { Job } from "../../protocol/job.ts";
import type { CreateJobRequest } from "../../protocol/jobSpec.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import { outputObjectKey } from "../../protocol/uploads.ts";
import { JITTER_MAX_NOISE } from "../../templates/shipped.ts";
import type { PondClient } from "../../sdk/index.ts";
import { fundedAccount } from "../helpers/anvil.ts";
import { startChainStack, type ChainStack } from "../helpers/chainStack.ts";
import { CHALLENGE_OUTCOME as OUTCOME, challengeJob, challengeOutcome, slashesOf } from "../helpers/challengeGame.ts";
import { eventually } from "../helpers/eventually.ts";
import { forgeJitterOutputs, jitterJob } from "../helpers/jitterJobs.ts";
import { startLyingProvider, type LyingProvider } from "../helpers/lyingProvider.ts";
import type { ProviderProcess } from "../helpers/providerProcess.ts";

const run = promisify(execFile);

let stack: ChainStack;
let accused: ProviderProcess;
let mediator: ProviderProcess;
let creator: { wallet: PrivateKeyAccount; client: PondClient };

beforeAll(async () => {
  stack = await startChainStack({ params: { mediationTimeout: 600 } });
  // The cheaper one runs the jobs; the other is the only one eligible to mediate (until the liar registers).
  accused = await stack.provider(["--max-cpus", "1", "--max-memory-mb", "1024", "--cpu-second-wei", "1000000000"], "3");
  mediator = await stack.provider(["--max-cpus", "1", "--max-memory-mb", "1024", "--cpu-second-wei", "9000000000"], "3");
  creator = await stack.creator("ml-disputer", "2");
});

afterAll(async () => {
  await stack?.stop();
});

async function finished(request: CreateJobRequest, by: string): Promise<Job> {
  const { client, wallet } = creator;
  const created = await client.createPaidJob(request, wallet);
  const done = await client.waitForJob(created.id);
  expect(done.status, done.error ?? "").toBe("succeeded");
  expect(done.provider).toBe(by);
  return done;
}

const challenge = (done: Job) => challengeJob(stack, creator, done);
const outcome = (chainJobId: Hex) => challengeOutcome(stack, chainJobId);
const slashes = (address: string) => slashesOf(stack, address);

async function settlement(jobId: string, expected: "settled" | "refunded"): Promise<void> {
  await eventually(async () => (await creator.client.getJob(jobId)).settlement === expected, { what: `the job to be ${expected}` });
}

describe("a challenge judged by the job's declared comparison", () => {
  it("upholds an honest provider whose outputs jitter within the tolerance: paid, nobody slashed", async () => {
    const done = await finished(jitterJob(), accused.address);
    const job = await challenge(done);
    const verdict = await outcome(job.chain_job_id as Hex);
    expect(verdict.mediator!.toLowerCase()).toBe(mediator.address);
    expect(verdict.outcome).toBe(OUTCOME.upheld);
    expect(verdict.slashed).toBe(0n);
    // The re-run's own hash is on record, and it is not the provider's: the bytes did differ.
    expect(verdict.mediatorResultHash).not.toBe(job.output!.result_hash);
    expect(mediator.process.output()).toMatch(/agree under the job's tolerant comparison.*mediation verdict sent/);
    await settlement(job.id, "settled");
    expect(await slashes(accused.address)).toBe(0);
  });

  it("slashes the same jittering job declared exact: its bytes differ, and the exact rule is unchanged", async () => {
    const done = await finished(jitterJob(null), accused.address);
    const job = await challenge(done);
    const verdict = await outcome(job.chain_job_id as Hex);
    expect(verdict.outcome).toBe(OUTCOME.rejected);
    expect(verdict.slashed! > 0n).toBe(true);
    await settlement(job.id, "refunded");
    expect(await slashes(accused.address)).toBe(1);
  });

  it("rejects a provider whose outputs are gone from where it delivered them when the mediator asks", async () => {
    const done = await finished(jitterJob(), accused.address);
    const labels = (done.output as OutputManifest).files.find((file) => file.path === "labels.txt")!;
    // The relay's copy is what the provider delivered when it reported; an operator's delete takes it.
    await run("node_modules/.bin/wrangler", ["r2", "object", "delete", `pond-outputs/${outputObjectKey(done.id, labels.path, labels.sha256)}`, "--local", "--persist-to", stack.dev.persist], { env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
    const job = await challenge(done);
    const verdict = await outcome(job.chain_job_id as Hex);
    expect(verdict.outcome).toBe(OUTCOME.rejected);
    expect(mediator.process.output()).toMatch(/could not be had as it signed them/);
    await settlement(job.id, "refunded");
    expect(await slashes(accused.address)).toBe(2);
  });

  describe("a lying provider among honest ones", () => {
    let liar: LyingProvider;
    // Past the tolerance by a margin no honest jitter reaches: numbers 4 × the largest noise off, 7 of 200 labels made up (the job accepts 6).
    let lie = { shift: 0, wrongLabels: 0 };

    beforeAll(async () => {
      const account = await fundedAccount(stack.anvil, "liar");
      await sendMarketTx(stack.anvil.rpcUrl, account, await creator.client.chain(), { functionName: "register", value: parseEther("3") });
      // Cheaper than anyone: it gets the jobs. Its outputs are pond/jitter's shape, moved past the tolerance.
      liar = await startLyingProvider({
        api: stack.dev.url,
        account,
        // Cheaper than the honest daemons (1e9 and 9e9), dear enough that a slash pays the mediator a share.
        pricing: { gpu_second_wei: "0", cpu_second_wei: "500000000" },
        forge: (_offer, dir) => forgeJitterOutputs(dir, lie),
      });
    });

    afterAll(async () => {
      await liar?.stop();
    });

    for (const kind of ["numbers", "labels"] as const) {
      it(`is slashed for ${kind} beyond the tolerance: the creator refunded, the mediator paid`, async () => {
        lie = kind === "numbers" ? { shift: 4 * JITTER_MAX_NOISE, wrongLabels: 0 } : { shift: 0, wrongLabels: 7 };
        const done = await finished(jitterJob(), liar.address);
        const job = await challenge(done);
        const verdict = await outcome(job.chain_job_id as Hex);
        // Either honest daemon may be drawn now; each judges the same way.
        expect([accused.address, mediator.address]).toContain(verdict.mediator!.toLowerCase());
        expect(verdict.outcome).toBe(OUTCOME.rejected);
        expect(verdict.slashed! > 0n).toBe(true);
        await settlement(job.id, "refunded");
        expect(await slashes(liar.address)).toBe(kind === "numbers" ? 1 : 2);
        // CreditReason.MediatorReward (3) to the drawn mediator, for this job.
        const credits = await stack.anvil.publicClient.getContractEvents({ address: stack.market, abi: pondMarketAbi, eventName: "Credited", args: { jobId: job.chain_job_id as Hex }, fromBlock: 0n });
        const credited = credits.map((credit) => ({ account: credit.args.account?.toLowerCase(), reason: credit.args.reason, paid: credit.args.amount! > 0n }));
        expect(credited).toContainEqual({ account: verdict.mediator!.toLowerCase(), reason: 3, paid: true });
      });
    }
  });
});
