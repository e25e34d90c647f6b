import { describe, expect, it } from "vitest";
import { claimAmountWei } from "../../provider/billing.ts";

describe("claimAmountWei", () => {
  it("charges the rate per started second", () => {
    expect(claimAmountWei(10n, 2_500, 1_000n)).toBe(30n);
    expect(claimAmountWei(10n, 0, 1_000n)).toBe(10n);
  });
  it("never claims more than the offer allowed", () => {
    expect(claimAmountWei(10n, 1_000_000, 1_000n)).toBe(1_000n);
  });
});
