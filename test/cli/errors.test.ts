import { HttpRequestError, InvalidAddressError } from "viem";
import { describe, expect, it } from "vitest";
import { describeCliError, UsageError } from "../../cli/errors.ts";
import { PondApiError } from "../../sdk/index.ts";

describe("describeCliError", () => {
  it("gives a user mistake's message alone", () => {
    expect(describeCliError(new UsageError("not logged in: run `pond login --api <url>`"))).toBe("not logged in: run `pond login --api <url>`");
    expect(describeCliError(new Error("the transaction 0x12 reverted"))).toBe("the transaction 0x12 reverted");
  });

  it("lists the fields an API problem names", () => {
    const error = new PondApiError({ type: "about:blank", title: "Unprocessable", status: 422, detail: "the spec is not valid", errors: [{ path: "env.NVIDIA_X", message: "must not start with NVIDIA_" }] });
    expect(describeCliError(error)).toBe("Unprocessable (422): the spec is not valid\n  env.NVIDIA_X: must not start with NVIDIA_");
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
