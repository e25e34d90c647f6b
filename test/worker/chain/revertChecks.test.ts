// Telling our own intent already on chain from a real refusal, by what the
// contract holds for the job.
import type { Hex } from "viem";
import { describe, expect, it } from "vitest";
import type { ChainPublicClient } from "../../../worker/chain/clients.ts";
import type { Intent } from "../../../worker/chain/intents.ts";
import { challengeAnswer, reservationAnswer } from "../../../worker/chain/revertChecks.ts";

const CREATOR = "0x00000000000000000000000000000000000000c1";
const OTHER = "0x00000000000000000000000000000000000000c2";
const ZERO = "0x0000000000000000000000000000000000000000";
const jobId = `0x${"07".repeat(32)}` as Hex;

/** A contract that holds one job word and, for a finished job, the JobReserved events given. */
function market(job: { status: number; creator: string; amount: bigint; tolerant?: boolean }, reserved: Array<{ creator: string; maxPrice: bigint }> = []) {
  const client = {
    readContract: async () => ({ time: 0n, provider: ZERO, tolerant: false, ...job }),
    getContractEvents: async () => reserved.map((args) => ({ args: { jobId, deadline: 0n, ...args } })),
  };
  return { client: client as unknown as ChainPublicClient, address: "0x00000000000000000000000000000000000000aa" as const, startBlock: 0n };
}

const reserve: Extract<Intent, { kind: "reserve" }> = {
  kind: "reserve",
  jobId: "job_1",
  chainJobId: jobId,
  payload: { creator: CREATOR, specHash: jobId, maxPriceWei: "1000", deadline: 1_900_000_000, tolerant: false, signature: `0x${"11".repeat(65)}` },
};

describe("reservationAnswer", () => {
  it("takes a reservation with the same creator and price as ours", async () => {
    expect(await reservationAnswer(market({ status: 1, creator: CREATOR, amount: 1000n }), reserve)).toBe("done");
    expect(await reservationAnswer(market({ status: 2, creator: CREATOR, amount: 10n }), reserve)).toBe("done");
  });

  it("refuses a job id someone else's reservation holds", async () => {
    expect(await reservationAnswer(market({ status: 1, creator: OTHER, amount: 1000n }), reserve)).toBe("fail");
    expect(await reservationAnswer(market({ status: 1, creator: CREATOR, amount: 999n }), reserve)).toBe("fail");
  });

  it("refuses a reservation of ours whose tolerant flag is not the one we asked for (another authorization of the same job key)", async () => {
    expect(await reservationAnswer(market({ status: 1, creator: CREATOR, amount: 1000n, tolerant: true }), reserve)).toBe("fail");
    expect(await reservationAnswer(market({ status: 3, creator: CREATOR, amount: 10n, tolerant: true }), reserve)).toBe("fail");
    const tolerant = { ...reserve, payload: { ...reserve.payload, tolerant: true } };
    expect(await reservationAnswer(market({ status: 2, creator: CREATOR, amount: 10n, tolerant: true }), tolerant)).toBe("done");
  });

  it("reads a finished job's reservation from its event", async () => {
    expect(await reservationAnswer(market({ status: 4, creator: ZERO, amount: 0n }, [{ creator: CREATOR, maxPrice: 1000n }]), reserve)).toBe("done");
    expect(await reservationAnswer(market({ status: 5, creator: ZERO, amount: 0n }, [{ creator: OTHER, maxPrice: 1000n }]), reserve)).toBe("fail");
  });

  it("waits when the chain shows no job at all (a reorg under us)", async () => {
    expect(await reservationAnswer(market({ status: 0, creator: ZERO, amount: 0n }), reserve)).toBe("wait");
  });
});

describe("challengeAnswer", () => {
  const resolve: Intent = { kind: "resolve", jobId: "job_1", chainJobId: jobId, payload: { resultHash: jobId, signature: `0x${"33".repeat(65)}` } };

  const judge: Intent = { kind: "judge", jobId: "job_1", chainJobId: jobId, payload: { rerunHash: jobId, upheld: true, signature: `0x${"33".repeat(65)}` } };

  it("takes a challenge that ended (paid or refunded) as done, whichever path answered it", async () => {
    for (const intent of [resolve, judge]) {
      expect(await challengeAnswer(market({ status: 4, creator: ZERO, amount: 0n }), intent)).toBe("done");
      expect(await challengeAnswer(market({ status: 6, creator: ZERO, amount: 0n }), intent)).toBe("done");
    }
  });

  it("fails a verdict for a job that was never challenged", async () => {
    expect(await challengeAnswer(market({ status: 2, creator: CREATOR, amount: 10n }), resolve)).toBe("fail");
    expect(await challengeAnswer(market({ status: 5, creator: ZERO, amount: 0n }), resolve)).toBe("fail");
  });
});
