import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { compilePondMarket, compileSources, GENERATED_FILE, renderPondMarketModule, SolidityCompileError } from "../../contracts/compile.ts";
import { pondMarketBytecode, solcVersion } from "../../contracts/generated/pondMarket.ts";

describe("contracts/generated/pondMarket.ts", () => {
  // One compile (viaIR takes a few seconds) shared by the checks below.
  let fresh: ReturnType<typeof compilePondMarket>;
  beforeAll(() => {
    fresh = compilePondMarket();
  }, 120_000);

  it("is exactly what a fresh compile of contracts/src writes (run `npx tsx contracts/compile.ts` after editing a contract)", () => {
    expect(readFileSync(GENERATED_FILE, "utf8")).toBe(renderPondMarketModule(fresh));
  });

  it("was built by the solc the repository pins, with code under the 24 KiB limit", () => {
    expect(solcVersion).toMatch(/^0\.8\.37\+/);
    expect(pondMarketBytecode).toBe(fresh.market.bytecode);
    expect((fresh.market.deployedBytecode.length - 2) / 2).toBeLessThanOrEqual(24_576);
  });

  it("has no compiler warnings about our own sources", () => {
    expect(fresh.warnings.filter((w) => /--> contracts\//.test(w))).toEqual([]);
  });

  it("fails loudly on a source that does not compile", () => {
    expect(() => compileSources({ "Broken.sol": "pragma solidity ^0.8.28; contract Broken { function f() public { undefinedThing(); } }" })).toThrow(SolidityCompileError);
  });
});
