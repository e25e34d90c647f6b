// The challenge game through Pond, on anvil: a creator disputes a result, the
// market draws a mediator among the staked providers, the mediator's daemon
// re-runs the job and signs its own result hash, the relayer posts the verdict,
// and the indexer reports the outcome. Once with a result no honest re-run
// reproduces (the provider is slashed), once with one it does (upheld), and twice
// for a job whose input files went peer to peer: the creator never puts them in
// the relay, and the mediator gets them peer to peer from the provider that kept
// them, or, once that provider is gone, from the challenger.
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEther, type Hex } from "viem";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { inputsForChallenge, serveInputsUntilResolved } from "../../cli/dataplane/challengeInputs.ts";
import { CreatorInputs } from "../../cli/dataplane/creatorInputs.ts";
import { collectInputs } from "../../cli/dataplane/inputFiles.ts";
import { createProgress } from "../../cli/progress.ts";
import type { Job } from "../../protocol/job.ts";
import type { CreateJobRequest } from "../../protocol/jobSpec.ts";
import type { PondClient } from "../../sdk/index.ts";
import type { PrivateKeyAccount } from "viem/accounts";
import { startChainStack, type ChainStack } from "../helpers/chainStack.ts";
import { challengeJob, challengeOutcome } from "../helpers/challengeGame.ts";
import { eventually } from "../helpers/eventually.ts";
import { shellJob } from "../helpers/jobs.ts";
import type { ProviderProcess } from "../helpers/providerProcess.ts";

const LOOPBACK = "127.0.0.1";

let stack: ChainStack;
let accused: ProviderProcess;
let mediator: ProviderProcess;
let creator: { wallet: PrivateKeyAccount; client: PondClient };

beforeAll(async () => {
  stack = await startChainStack({ params: { mediationTimeout: 600 } });
  // The cheaper one runs the jobs; the other is the only one eligible to mediate.
  // Staked above the minimum (1 ETH), so a slash leaves the accused registered for the second game.
  // WebRTC candidates on loopback only (the only network tests may use).
  accused = await stack.provider(["--max-cpus", "1", "--max-memory-mb", "1024", "--cpu-second-wei", "1000000000", "--webrtc-bind-address", LOOPBACK], "3");
  mediator = await stack.provider(["--max-cpus", "1", "--max-memory-mb", "1024", "--cpu-second-wei", "9000000000", "--webrtc-bind-address", LOOPBACK], "3");
  creator = await stack.creator("disputer", "2");
});

afterAll(async () => {
  await stack?.stop();
});

async function challengedJob(cmd: string) {
  const { client, wallet } = creator;
  const created = await client.createPaidJob(shellJob(cmd, { max_price_wei: parseEther("0.01").toString() }), wallet);
  return challenge(await client.waitForJob(created.id));
}

async function challenge(done: Job) {
  expect(done.status).toBe("succeeded");
  expect(done.provider).toBe(accused.address);
  return challengeJob(stack, creator, done);
}

const outcome = (chainJobId: Hex) => challengeOutcome(stack, chainJobId, 60_000);

describe("a challenged job", () => {
  it("whose result an honest re-run cannot reproduce: the provider is slashed and the creator refunded", async () => {
    const job = await challengedJob("head -c 32 /dev/urandom > /outputs/random.bin");
    const verdict = await outcome(job.chain_job_id as Hex);
    expect(verdict.mediator!.toLowerCase()).toBe(mediator.address);
    expect(verdict.outcome).toBe(1); // ResultRejected
    expect(verdict.slashed! > 0n).toBe(true);
    expect(mediator.process.output()).toContain("mediation verdict sent");

    const refunded = await eventually(async () => {
      const current = await creator.client.getJob(job.id);
      return current.settlement === "refunded" && current;
    }, { what: "the refund to be indexed" });
    expect(refunded.status).toBe("succeeded");
    const info = await stack.anvil.publicClient.readContract({ address: stack.market, abi: pondMarketAbi, functionName: "providerInfo", args: [accused.address as Hex] });
    expect(info.jobsSlashed).toBe(1);
  });

  it("whose result the re-run reproduces: upheld, and the provider is paid", async () => {
    const job = await challengedJob("echo deterministic > /outputs/same.txt");
    const verdict = await outcome(job.chain_job_id as Hex);
    expect(verdict.outcome).toBe(0); // ResultUpheld
    const settled = await eventually(async () => {
      const current = await creator.client.getJob(job.id);
      return current.settlement === "settled" && current;
    }, { what: "the payment to be indexed" });
    expect(settled.settlement).toBe("settled");
    const info = await stack.anvil.publicClient.readContract({ address: stack.market, abi: pondMarketAbi, functionName: "providerInfo", args: [accused.address as Hex] });
    expect(info.jobsChallenged).toBe(2);
    expect(info.jobsSlashed).toBe(1);
  });

  it("whose inputs went peer to peer: nothing goes through the relay, and the mediator gets them peer to peer from the provider", async () => {
    const { client, wallet } = creator;
    const dir = await mkdtemp(join(tmpdir(), "pond-challenge-inputs-"));
    try {
      const bytes = randomBytes(2 * 1024 * 1024 + 11);
      await writeFile(join(dir, "in.bin"), bytes);
      // What `pond run --input` does: hash, sign the spec, serve while the job runs, finish when it ends.
      const inputs = await collectInputs([join(dir, "in.bin")]);
      const request: CreateJobRequest = { ...shellJob("sha256sum /inputs/in.bin > /outputs/sum.txt", { max_price_wei: parseEther("0.01").toString() }), input_files: inputs.specFiles };
      const created = await client.createPaidJob(request, wallet);
      const notes: string[] = [];
      const sending = new CreatorInputs(client, inputs, created.id, createProgress(process.stderr, false), (text) => notes.push(text));
      await sending.serve({ enabled: true, connectTimeoutMs: 5_000, bindAddress: LOOPBACK });
      const done = await client.waitForJob(created.id);
      await sending.finish();
      expect(done.metrics.transfer.inputs, notes.join("\n")).toMatchObject({ route: "direct" });
      // Settled on chain, so a mediator may be drawn: still nothing is uploaded a second time.
      expect(done.settlement).not.toBe("none");
      expect(sending.uploadedBytes, notes.join("\n")).toBe(0);
      const chunks = inputs.manifest.files.flatMap((file) => file.chunks);
      expect(await client.data.missingInputChunks(created.id, chunks)).toEqual(expect.arrayContaining(chunks));

      const job = await challenge(done);
      const verdict = await outcome(job.chain_job_id as Hex);
      expect(verdict.mediator!.toLowerCase()).toBe(mediator.address);
      expect(verdict.outcome).toBe(0); // ResultUpheld: the mediator hashed the same bytes
      expect(mediator.process.output()).toMatch(/inputs received peer to peer from the provider/);
      expect(accused.process.output()).toMatch(/served inputs peer to peer/);
      expect(await client.data.missingInputChunks(created.id, chunks)).toEqual(expect.arrayContaining(chunks));
      expect((await client.getJob(created.id)).output!.files[0]!.sha256).toBe(createHash("sha256").update(`${createHash("sha256").update(bytes).digest("hex")}  /inputs/in.bin\n`).digest("hex"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("whose provider is gone by then: the challenger serves the inputs to the mediator, as pond challenge --input does", async () => {
    const { client, wallet } = creator;
    const dir = await mkdtemp(join(tmpdir(), "pond-challenge-inputs-"));
    try {
      const bytes = randomBytes(1024 * 1024 + 7);
      await writeFile(join(dir, "gone.bin"), bytes);
      const inputs = await collectInputs([join(dir, "gone.bin")]);
      const created = await client.createPaidJob({ ...shellJob("sha256sum /inputs/gone.bin > /outputs/sum.txt", { max_price_wei: parseEther("0.01").toString() }), input_files: inputs.specFiles }, wallet);
      const progress = createProgress(process.stderr, false);
      const sending = new CreatorInputs(client, inputs, created.id, progress, () => {});
      await sending.serve({ enabled: true, connectTimeoutMs: 5_000, bindAddress: LOOPBACK });
      const done = await client.waitForJob(created.id);
      await sending.finish();
      expect(done.metrics.transfer.inputs).toMatchObject({ route: "direct" });
      // The provider that kept the inputs goes away: the mediator's offer to it is never answered.
      await accused.stop("SIGKILL");
      const notes: string[] = [];
      const serving = serveInputsUntilResolved({ sdk: client, p2p: { enabled: true, connectTimeoutMs: 5_000, bindAddress: LOOPBACK }, inputs: await inputsForChallenge(done, [join(dir, "gone.bin")]), jobId: created.id, progress, note: (text) => notes.push(text), pollMs: 500 });
      const job = await challenge(done);
      const verdict = await outcome(job.chain_job_id as Hex);
      expect(verdict.outcome).toBe(0); // ResultUpheld: the mediator hashed the bytes the challenger served
      expect(mediator.process.output()).toMatch(/inputs received peer to peer from the creator/);
      const resolved = await serving;
      expect(resolved.settlement).toBe("settled");
      expect(notes.join("\n")).toMatch(/inputs sent to the mediator peer to peer/);
      const chunks = inputs.manifest.files.flatMap((file) => file.chunks);
      expect(await client.data.missingInputChunks(created.id, chunks)).toEqual(expect.arrayContaining(chunks));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
