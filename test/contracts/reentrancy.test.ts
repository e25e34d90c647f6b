import { BaseError, decodeErrorResult, encodeErrorResult, encodeFunctionData, getAddress, parseEther, type Abi, type Address, type Hex } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compileSources } from "../../contracts/compile.ts";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { fundedAccount, startAnvil, type Anvil } from "../helpers/anvil.ts";
import { createMarketFixture, mined, snapshotIsolation, type MarketFixture } from "./marketFixture.ts";

// A receiver that tries to withdraw again from inside the ETH transfer of a withdrawal.
// `swallow` decides whether it catches the refused re-entry (and records why) or lets it bubble up.
const ATTACKER_SOURCE = `
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

interface IMarket {
    function deposit() external payable;
    function withdraw(uint256 amount) external;
}

contract GreedyReceiver {
    IMarket public immutable market;
    bool public immutable swallow;
    uint256 public reentries;
    bytes public refusal;

    constructor(IMarket market_, bool swallow_) {
        market = market_;
        swallow = swallow_;
    }

    function depositAndWithdraw(uint256 amount) external payable {
        market.deposit{value: msg.value}();
        market.withdraw(amount);
    }

    receive() external payable {
        if (reentries++ > 0) return;
        if (swallow) {
            try market.withdraw(msg.value) {} catch (bytes memory reason) { refusal = reason; }
        } else {
            market.withdraw(msg.value);
        }
    }
}
`;

let anvil: Anvil;
let f: MarketFixture;
let attackerAbi: Abi;
let attackerBytecode: Hex;
const isolation = snapshotIsolation(() => anvil);

beforeAll(async () => {
  const compiled = compileSources({ "test/GreedyReceiver.sol": ATTACKER_SOURCE }).contracts["test/GreedyReceiver.sol:GreedyReceiver"]!;
  attackerAbi = compiled.abi;
  attackerBytecode = compiled.bytecode;
  anvil = await startAnvil();
  f = await createMarketFixture(anvil, { creators: 1, providers: 0, deposit: parseEther("5") });
  await isolation.capture();
});
beforeEach(() => isolation.restore());
afterAll(() => anvil?.stop());

async function deployAttacker(swallow: boolean): Promise<Address> {
  const hash = await anvil.walletFor(f.owner).deployContract({ abi: attackerAbi, bytecode: attackerBytecode, args: [f.address, swallow] });
  const receipt = await anvil.publicClient.waitForTransactionReceipt({ hash });
  return getAddress(receipt.contractAddress!);
}

describe("withdraw under re-entry", () => {
  it("refuses a withdrawal re-entered from the receiving contract: the attacker gets paid once", async () => {
    const attacker = await deployAttacker(true);
    const thief = await fundedAccount(anvil, "thief");
    await mined(anvil, anvil.walletFor(thief).writeContract({ address: attacker, abi: attackerAbi, functionName: "depositAndWithdraw", args: [parseEther("1")], value: parseEther("2") }));

    const refusal = (await anvil.publicClient.readContract({ address: attacker, abi: attackerAbi, functionName: "refusal" })) as Hex;
    expect(decodeErrorResult({ abi: pondMarketAbi, data: refusal }).errorName).toBe("ReentrancyGuardReentrantCall");
    expect(await anvil.publicClient.getBalance({ address: attacker })).toBe(parseEther("1"));
    expect(await f.as(f.owner).read.accountOf([attacker])).toEqual([parseEther("1"), 0n]);
    expect(await anvil.publicClient.getBalance({ address: f.address })).toBe(parseEther("5") + parseEther("1"));
  });

  it("rolls the whole withdrawal back, naming the failed transfer, when the re-entry's failure bubbles up", async () => {
    const attacker = await deployAttacker(false);
    const caller = await fundedAccount(anvil, "thief");
    const failure = await anvil.publicClient
      .call({
        account: caller.address,
        to: attacker,
        data: encodeFunctionData({ abi: attackerAbi, functionName: "depositAndWithdraw", args: [parseEther("1")] }),
        value: parseEther("2"),
      })
      .then(() => undefined, revertDataOf);
    expect(failure).toBe(encodeErrorResult({ abi: pondMarketAbi, errorName: "TransferFailed", args: [attacker, parseEther("1")] }));

    const sent = anvil.walletFor(caller).writeContract({ address: attacker, abi: attackerAbi, functionName: "depositAndWithdraw", args: [parseEther("1")], value: parseEther("2") });
    await expect(sent).rejects.toThrow();
    expect(await f.as(f.owner).read.accountOf([attacker])).toEqual([0n, 0n]);
    expect(await anvil.publicClient.getBalance({ address: f.address })).toBe(parseEther("5"));
  });
});

/** The raw revert data inside a viem error. */
function revertDataOf(error: unknown): Hex | undefined {
  if (!(error instanceof BaseError)) throw error;
  const withData = error.walk((e) => typeof (e as { data?: unknown }).data === "string") as { data?: Hex } | null;
  return withData?.data;
}
