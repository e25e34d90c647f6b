// The steps of the challenge game the contract tests share: a job reserved and
// reported by the fixture's first creator and provider, that job challenged with
// the bond, and the mediator drawn (the seed block mined first).
import { parseEther, type Hex, type LocalAccount } from "viem";
import { localMarketParams, type Anvil } from "../helpers/anvil.ts";
import { hashOf, jobIdOf, mined, type MarketFixture, type ResultSubmission } from "./marketFixture.ts";

export interface JobTerms {
  /** The provider's claim (default 0.1 ETH). */
  amount?: bigint;
  /** The creator's ceiling (default: the claim). */
  maxPrice?: bigint;
  /** Whether the creator signed it tolerant (default: exact). */
  tolerant?: boolean;
}

const DEFAULT_AMOUNT = parseEther("0.1");

/** `context` is read at each call: the test file's anvil and fixture are made in its beforeAll. */
export function challengeSteps(context: () => { anvil: Anvil; f: MarketFixture }) {
  async function reportedJob(label: string, terms: JobTerms = {}): Promise<ResultSubmission> {
    const { f } = context();
    const amount = terms.amount ?? DEFAULT_AMOUNT;
    await f.reserve(f.creators[0]!, [{ jobId: jobIdOf(label), maxPrice: terms.maxPrice ?? amount, tolerant: terms.tolerant ?? false }]);
    const [result] = await f.report(f.providers[0]!, [{ jobId: jobIdOf(label), resultHash: hashOf(`out:${label}`), amount }]);
    return result!;
  }

  async function challenged(label: string, terms: JobTerms = {}): Promise<ResultSubmission> {
    const { anvil, f } = context();
    const result = await reportedJob(label, terms);
    await mined(anvil, f.as(f.creators[0]!).write.challenge([result.jobId, result.resultHash, result.providerSignature], { value: localMarketParams.challengeBond }));
    return result;
  }

  /** Draws the mediator (mining the seed block first) and returns the fixture account it picked. */
  async function withMediator(jobId: Hex): Promise<LocalAccount> {
    const { anvil, f } = context();
    await anvil.testClient.mine({ blocks: 1 });
    await mined(anvil, f.as(f.owner).write.assignMediator([jobId]));
    const { mediator } = await f.as(f.owner).read.challengeOf([jobId]);
    const account = [...f.providers, ...f.creators].find((a) => a.address === mediator);
    if (!account) throw new Error(`mediator ${mediator} is not one of the fixture's accounts`);
    return account;
  }

  return { reportedJob, challenged, withMediator };
}
