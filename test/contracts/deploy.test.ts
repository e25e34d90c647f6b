import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { getContract } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { networkParams, parseDeployConfig } from "../../scripts/deploy.ts";
import { startAnvil, type Anvil } from "../helpers/anvil.ts";
import { tsNode } from "../helpers/tsNode.ts";

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, "..", "..", "scripts", "deploy.ts");
const SECRET_KEY = `0x${"ab".repeat(32)}`;

let anvil: Anvil;
let dir: string;

beforeAll(async () => {
  anvil = await startAnvil();
  dir = await mkdtemp(join(tmpdir(), "pond-deploy-"));
});
afterAll(async () => {
  await anvil?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("scripts/deploy.ts", () => {
  it("deploys to anvil with the local rules, prints the address and writes it where --out says", async () => {
    const out = join(dir, "market.json");
    const { stdout } = await run(...tsNode(SCRIPT, ["--network", "anvil", "--rpc-url", anvil.rpcUrl, "--out", out, "--relayer", "0x000000000000000000000000000000000000bEEF"]), {
      env: { ...process.env, DEPLOYER_PRIVATE_KEY: "" },
    });
    const deployment = JSON.parse(await readFile(out, "utf8")) as { address: `0x${string}`; chainId: number; relayer: string };
    expect(stdout).toContain(deployment.address);
    expect(deployment).toMatchObject({ chainId: anvil.chainId, relayer: "0x000000000000000000000000000000000000bEEF" });

    const market = getContract({ address: deployment.address, abi: pondMarketAbi, client: anvil.publicClient });
    expect(await market.read.marketParams()).toEqual(networkParams.anvil.params);
    expect(await market.read.relayer()).toBe("0x000000000000000000000000000000000000bEEF");
  });

  it("requires an RPC URL, a deployer key and a relayer for Arbitrum, naming what is missing", () => {
    expect(() => parseDeployConfig(["--network", "arbitrum-sepolia"], {})).toThrow(/rpcUrl: RPC_URL.*\n.*DEPLOYER_PRIVATE_KEY.*\n.*RELAYER_ADDRESS/s);
  });

  it("asks for explicit confirmation before spending real ETH on Arbitrum One", () => {
    const env = { RPC_URL: "http://127.0.0.1:1", DEPLOYER_PRIVATE_KEY: SECRET_KEY, RELAYER_ADDRESS: "0x000000000000000000000000000000000000bEEF" };
    expect(() => parseDeployConfig(["--network", "arbitrum"], env)).toThrow(/--confirm-mainnet/);
    expect(parseDeployConfig(["--network", "arbitrum", "--confirm-mainnet"], env).network).toBe("arbitrum");
  });

  it("never repeats a deployer key in its errors, even a malformed one", () => {
    const malformed = `${SECRET_KEY}ff`;
    let message = "";
    try {
      parseDeployConfig(["--network", "arbitrum-sepolia"], { RPC_URL: "http://127.0.0.1:1", DEPLOYER_PRIVATE_KEY: malformed, RELAYER_ADDRESS: "0x000000000000000000000000000000000000bEEF" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/DEPLOYER_PRIVATE_KEY must be/);
    expect(message).not.toContain("abab");
  });
});
