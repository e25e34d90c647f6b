// Logs never carry the RPC URL, whose path may hold an API key.
import { HttpRequestError } from "viem";
import { describe, expect, it } from "vitest";
import { redactRpcUrl, safeErrorText } from "../../../worker/security/safeErrorText.ts";

const RPC_URL = "http://127.0.0.1:9/v2/sk_live_not_for_logs";

describe("safeErrorText", () => {
  it("keeps viem's account of a failed call and drops the URL it wrote into the message", async () => {
    // What viem's http transport throws when the node answers 5xx.
    const error = new HttpRequestError({ url: RPC_URL, status: 503, body: { method: "eth_blockNumber" }, details: "Service Unavailable" });
    expect(error.message).toContain("sk_live_not_for_logs");
    const text = safeErrorText(error, RPC_URL);
    expect(text).toMatch(/HTTP request failed/);
    expect(text).not.toContain("sk_live_not_for_logs");
  });

  it("replaces every spelling of the URL", () => {
    expect(redactRpcUrl(`at ${RPC_URL}/ and ${RPC_URL}`, RPC_URL)).toBe("at <rpc>/ and <rpc>");
    expect(redactRpcUrl("GET https://node.example/key failed", "https://user:pw@node.example/key")).toBe("GET <rpc> failed");
    expect(redactRpcUrl("nothing here", undefined)).toBe("nothing here");
  });
});
