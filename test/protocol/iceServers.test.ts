import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { IceServer, turnRestCredential } from "../../protocol/iceServers.ts";

describe("turnRestCredential", () => {
  it("names the expiry and user, and signs that name with HMAC-SHA1 of the shared secret (checked against node:crypto)", async () => {
    const nowMs = 1_700_000_000_123;
    const credential = await turnRestCredential({ secret: "s3cret", user: "job_abc-provider", ttlSeconds: 600, nowMs });
    expect(credential.username).toBe("1700000600:job_abc-provider");
    expect(credential.expiresAtSeconds).toBe(1_700_000_600);
    expect(credential.credential).toBe(createHmac("sha1", "s3cret").update("1700000600:job_abc-provider").digest("base64"));
  });

  it("error: refuses a user with ':' (it would shift the expiry) and a ttl that is not a positive integer", async () => {
    await expect(turnRestCredential({ secret: "s", user: "a:b", ttlSeconds: 60 })).rejects.toThrow(/must not contain ':'/);
    await expect(turnRestCredential({ secret: "s", user: "a", ttlSeconds: 0 })).rejects.toThrow(/positive integer/);
    await expect(turnRestCredential({ secret: "s", user: "a", ttlSeconds: 1.5 })).rejects.toThrow(/positive integer/);
  });
});

describe("IceServer", () => {
  it("accepts stun, turn and turns URLs and refuses others", () => {
    expect(IceServer.safeParse({ urls: ["stun:stun.example.org:3478", "turn:198.51.100.1:3478?transport=udp", "turns:turn.example.org"] }).success).toBe(true);
    expect(IceServer.safeParse({ urls: ["http://example.org"] }).success).toBe(false);
    expect(IceServer.safeParse({ urls: [] }).success).toBe(false);
  });
});
