import { describe, expect, it } from "vitest";
import { ConfigError, getConfig } from "../../../worker/config/config.ts";

const env = (vars: Record<string, string>) => vars as unknown as Env;

describe("getConfig", () => {
  it("works for plain `wrangler dev` with no secrets set", () => {
    expect(getConfig(env({ ENVIRONMENT: "development" })).secretsKey).toHaveLength(44);
  });

  it("refuses production without SECRETS_KEY, saying how to set it", () => {
    expect(() => getConfig(env({ ENVIRONMENT: "production" }))).toThrow(ConfigError);
    expect(() => getConfig(env({ ENVIRONMENT: "production" }))).toThrow(/wrangler secret put SECRETS_KEY/);
  });

  it("refuses production without PUBLIC_URL, which background work builds its links from", () => {
    const sealed = Buffer.alloc(32, 1).toString("base64");
    expect(() => getConfig(env({ ENVIRONMENT: "production", SECRETS_KEY: sealed }))).toThrow(/PUBLIC_URL is required in production/);
    expect(getConfig(env({ ENVIRONMENT: "production", SECRETS_KEY: sealed, PUBLIC_URL: "https://api.pond.test", SIWE_DOMAIN: "api.pond.test" })).publicUrl).toBe("https://api.pond.test");
  });

  it("refuses production without SIWE_DOMAIN, which would otherwise come from the client's Host header", () => {
    const sealed = Buffer.alloc(32, 1).toString("base64");
    const production = { ENVIRONMENT: "production", SECRETS_KEY: sealed, PUBLIC_URL: "https://api.pond.test" };
    expect(() => getConfig(env(production))).toThrow(ConfigError);
    expect(() => getConfig(env(production))).toThrow(/SIWE_DOMAIN is required in production: set it to the host users sign in at/);
    expect(getConfig(env({ ...production, SIWE_DOMAIN: "api.pond.test" })).siwe.domain).toBe("api.pond.test");
    expect(getConfig(env({ ...production, SIWE_DOMAIN: "localhost:8787" })).siwe.domain).toBe("localhost:8787");
  });

  it("refuses a SIWE_DOMAIN written as a URL, saying what it should be", () => {
    const sealed = Buffer.alloc(32, 1).toString("base64");
    expect(() => getConfig(env({ ENVIRONMENT: "production", SECRETS_KEY: sealed, PUBLIC_URL: "https://api.pond.test", SIWE_DOMAIN: "https://api.pond.test" }))).toThrow(
      /SIWE_DOMAIN must be the host/,
    );
  });

  it("allows web apps on any origin by default, or on the origins CORS_ORIGINS lists", () => {
    expect(getConfig(env({ ENVIRONMENT: "development" })).cors.origins).toBe("*");
    expect(getConfig(env({ ENVIRONMENT: "development", CORS_ORIGINS: "*" })).cors.origins).toBe("*");
    expect(getConfig(env({ ENVIRONMENT: "development", CORS_ORIGINS: "https://app.example.com, http://localhost:5173" })).cors.origins).toEqual([
      "https://app.example.com",
      "http://localhost:5173",
    ]);
    expect(() => getConfig(env({ ENVIRONMENT: "development", CORS_ORIGINS: "https://app.example.com/" }))).toThrow(/CORS_ORIGINS.*scheme:\/\/host\[:port\]/);
    expect(() => getConfig(env({ ENVIRONMENT: "development", CORS_ORIGINS: "app.example.com" }))).toThrow(ConfigError);
  });

  it("still lets development fall back to the request's host", () => {
    expect(getConfig(env({ ENVIRONMENT: "development" })).siwe.domain).toBeUndefined();
  });

  it("names every bad variable", () => {
    const error = (() => {
      try {
        getConfig(env({ ENVIRONMENT: "staging", HUB_SHARDS: "0", RELAYER_PRIVATE_KEY: "nope" }));
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error?.message).toMatch(/ENVIRONMENT/);
    expect(error?.message).toMatch(/HUB_SHARDS/);
    expect(error?.message).toMatch(/RELAYER_PRIVATE_KEY must be a 0x-prefixed 32-byte hex key/);
    // The value itself is never echoed: it may be a secret.
    expect(error?.message).not.toContain("nope");
  });

  it("derives the relayer's address from its key", () => {
    const config = getConfig(env({ ENVIRONMENT: "development", RELAYER_PRIVATE_KEY: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" }));
    expect(config.chain.relayerAddress).toBe("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
  });
});
