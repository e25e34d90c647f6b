// The creator's side of the challenge game on a chain stack, as `pond challenge`
// plays it: wait for the result on chain, dispute it with the provider's signed
// claim, mine past the seed block so a mediator can be drawn; then read how it
// ended. Shared by the challenge tests and bench:verify.
import { type Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { sendMarketTx } from "../../cli/marketTx.ts";
import type { Job } from "../../protocol/job.ts";
import type { PondClient } from "../../sdk/index.ts";
import type { ChainStack } from "./chainStack.ts";
import { eventually } from "./eventually.ts";

/** ChallengeOutcome in contracts/src/PondTypes.sol. */
export const CHALLENGE_OUTCOME = { upheld: 0, rejected: 1, voided: 2 } as const;

export async function challengeJob(stack: ChainStack, creator: { wallet: PrivateKeyAccount; client: PondClient }, done: Job): Promise<Job> {
  const { client, wallet } = creator;
  const job = await client.getJob(done.id);
  await eventually(async () => {
    const reported = await stack.anvil.publicClient.getContractEvents({ address: stack.market, abi: pondMarketAbi, eventName: "ResultSubmitted", args: { jobId: job.chain_job_id as Hex }, fromBlock: 0n });
    return reported.length > 0;
  }, { what: "the result on chain" });
  await sendMarketTx(stack.anvil.rpcUrl, wallet, await client.chain(), {
    functionName: "challenge",
    jobId: job.chain_job_id as Hex,
    resultHash: job.output!.result_hash as Hex,
    providerSignature: job.price.claim_signature as Hex,
  });
  await eventually(async () => (await client.getJob(done.id)).settlement === "challenged", { what: "the challenge to be indexed" });
  // The mediator is drawn from the hash of the block after the challenge, readable
  // once a later block exists: anvil mines only on demand, so mine two.
  await stack.anvil.testClient.mine({ blocks: 2 });
  return job;
}

/** The challenge's ChallengeResolved event, once the mediator's answer is on chain. */
export async function challengeOutcome(stack: ChainStack, chainJobId: Hex, timeoutMs = 90_000) {
  const [resolved] = await eventually(async () => {
    const logs = await stack.anvil.publicClient.getContractEvents({ address: stack.market, abi: pondMarketAbi, eventName: "ChallengeResolved", args: { jobId: chainJobId }, fromBlock: 0n });
    return logs.length > 0 && logs;
  }, { what: "the mediator's verdict on chain", timeoutMs });
  return resolved!.args;
}

export async function slashesOf(stack: ChainStack, address: string): Promise<number> {
  const info = await stack.anvil.publicClient.readContract({ address: stack.market, abi: pondMarketAbi, functionName: "providerInfo", args: [address as Hex] });
  return info.jobsSlashed;
}
