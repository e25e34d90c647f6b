import { encodeErrorResult, ExecutionRevertedError, HttpRequestError, InvalidAddressError, parseEther, RpcRequestError } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeCliError, exitCodeOf, PartialFailure, reportCliError, UsageError } from "../../cli/errors.ts";
import { exitCodes } from "../../cli/exitCodes.ts";
import { sendMarketTx } from "../../cli/marketTx.ts";
import { PondApiError } from "../../sdk/index.ts";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import type { ChainInfo } from "../../protocol/account.ts";
import { deployMarket, fundedAccount, startAnvil, type Anvil } from "../helpers/anvil.ts";

describe("describeCliError", () => {
  it("gives a user mistake's message alone", () => {
    expect(describeCliError(new UsageError("not logged in: run `pond login --api <url>`"))).toBe("not logged in: run `pond login --api <url>`");
    expect(describeCliError(new Error("the transaction 0x12 reverted"))).toBe("the transaction 0x12 reverted");
  });

  it("lists the fields an API problem names", () => {
    const error = new PondApiError({ type: "about:blank", title: "Unprocessable", status: 422, detail: "the spec is not valid", errors: [{ path: "env.NVIDIA_X", message: "must not start with NVIDIA_" }] });
    expect(describeCliError(error)).toBe("Unprocessable (422): the spec is not valid\n  env.NVIDIA_X: must not start with NVIDIA_");
  });

  it("reports a failure part-way by its cause's message and exit code, with what it left, for a person and under `left` for a script", () => {
    const refusal = new PondApiError({ type: "about:blank", title: "Payment Required", status: 402, detail: "your escrow has 0 wei free" });
    const partial = new PartialFailure(refusal, "sweep swp_0123456789: 2 of 3 jobs were created", { sweep: "swp_0123456789", created: ["job_a", "job_b"] });
    expect(describeCliError(partial)).toBe("Payment Required (402): your escrow has 0 wei free\nsweep swp_0123456789: 2 of 3 jobs were created");
    expect(exitCodeOf(partial)).toBe(exitCodes.refused);
    const printed: string[] = [];
    const original = console.error;
    console.error = (line: string) => void printed.push(line);
    try {
      expect(reportCliError(partial, { debug: false, json: true })).toBe(exitCodes.refused);
    } finally {
      console.error = original;
    }
    expect(JSON.parse(printed[0]!)).toMatchObject({ error: { exit_code: exitCodes.refused, problem: { status: 402 }, left: { sweep: "swp_0123456789", created: ["job_a", "job_b"] } } });
  });

  it("gives viem's short message, not its page of details", () => {
    const error = new InvalidAddressError({ address: "0x123" });
    expect(error.message).toMatch(/Version: viem/);
    expect(describeCliError(error)).toBe('Address "0x123" is invalid.');
    expect(describeCliError(new HttpRequestError({ url: "http://127.0.0.1:8545", details: "fetch failed" }))).toBe("HTTP request failed. (fetch failed)");
  });

  it("says when the API cannot be reached", () => {
    const error = new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:8787") });
    expect(describeCliError(error)).toBe("cannot reach the API (connect ECONNREFUSED 127.0.0.1:8787)");
  });
});

// Reverts from a real PondMarket on anvil: the node names only the selector
// (`custom error 0x1b817991`); the CLI names the market's error and its arguments.
describe("describeCliError: the market contract's errors", () => {
  let anvil: Anvil;
  let wallet: PrivateKeyAccount;
  let chain: ChainInfo;

  beforeAll(async () => {
    anvil = await startAnvil();
    wallet = await fundedAccount(anvil, "cli-errors");
    const market = await deployMarket(anvil, { deployer: wallet });
    chain = { settles_on_chain: true, chain: "anvil", chain_id: anvil.chainId, market_address: market } as ChainInfo;
  });
  afterAll(() => anvil?.stop());

  it("names the error a withdrawal reverted with, not its selector", async () => {
    const error = await sendMarketTx(anvil.rpcUrl, wallet, chain, { functionName: "withdraw", amount: 5n }).catch((e: unknown) => e);
    const line = describeCliError(error);
    expect(line).toBe("the market contract refused withdraw: InsufficientFreeBalance(available: 0, requested: 5)");
  });

  it("names the error a challenge reverted with", async () => {
    const jobId = `0x${"11".repeat(32)}` as const;
    const error = await sendMarketTx(anvil.rpcUrl, wallet, chain, {
      functionName: "challenge",
      jobId,
      resultHash: `0x${"22".repeat(32)}`,
      providerSignature: `0x${"33".repeat(64)}1b`,
      bond: parseEther("0.1"),
    }).catch((e: unknown) => e);
    const line = describeCliError(error);
    expect(line).toBe(`the market contract refused challenge: NotChallengeable(jobId: ${jobId}, status: 0)`);
    expect(line).not.toMatch(/custom error/);
  });

  it("decodes raw revert data that reached it undecoded", () => {
    const data = encodeErrorResult({ abi: pondMarketAbi, errorName: "BondTooSmall", args: [1n, 2n] });
    const error = new ExecutionRevertedError({
      cause: new RpcRequestError({ body: {}, url: "http://127.0.0.1:8545", error: { code: 3, message: `execution reverted: custom error ${data.slice(0, 10)}`, data } }),
    });
    expect(describeCliError(error)).toBe("the market contract refused the call: BondTooSmall(sent: 1, required: 2)");
  });
});
