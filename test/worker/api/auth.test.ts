import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { call, clientAddress, getNonce, ORIGIN, post, signedSiwe, signIn, validJob } from "../client.ts";

/** The NONCE_LIMITER binding's limit per client address and minute (wrangler.toml). */
const NONCES_PER_MINUTE = 30;

const askNonce = (from: string, init: RequestInit = {}) =>
  SELF.fetch(`${ORIGIN}/v1/auth/nonce`, { method: "POST", ...init, headers: { "cf-connecting-ip": from, ...(init.headers as Record<string, string> | undefined) } });

const nonceRows = async () => (await env.DB.prepare("SELECT count(*) AS n FROM auth_nonces").first<{ n: number }>())!.n;

describe("POST /v1/auth/nonce", () => {
  it("gives everything needed to build a SIWE message", async () => {
    const fields = await getNonce();
    expect(fields.nonce).toMatch(/^[A-Za-z0-9]{8,}$/);
    expect(fields.domain).toBe("pond.test");
    expect(fields.uri).toBe("https://pond.test");
    expect(fields.chain_id).toBe(31337);
  });

  it("gives nonces from a CSPRNG: at least 96 bits each, sharing nothing with the ones before", async () => {
    // viem's generateSiweNonce slid a window over one Math.random string: each nonce was the one
    // before shifted by a character, so one nonce gave away the next.
    const nonces: string[] = [];
    for (let i = 0; i < 24; i++) nonces.push((await getNonce()).nonce);
    const alphabet = new Set(nonces.join(""));
    for (const nonce of nonces) {
      expect(nonce).toMatch(/^[A-Za-z0-9]+$/);
      expect(nonce.length * Math.log2(alphabet.size)).toBeGreaterThanOrEqual(96);
    }
    expect(new Set(nonces).size).toBe(nonces.length);
    // Two random 26-character strings share a run of 8 characters about once in 10^9 pairs.
    const SHARED_RUN = 8;
    for (let i = 0; i < nonces.length; i++) {
      const runs = new Set(Array.from({ length: nonces[i]!.length - SHARED_RUN + 1 }, (_, at) => nonces[i]!.slice(at, at + SHARED_RUN)));
      for (let j = i + 1; j < nonces.length; j++) {
        const shared = [...runs].filter((run) => nonces[j]!.includes(run));
        expect(shared, `nonces ${i} and ${j} share a run of ${SHARED_RUN} characters`).toEqual([]);
      }
    }
  });

  it("takes no body, or an empty JSON object", async () => {
    expect((await askNonce(clientAddress())).status).toBe(200);
    expect((await askNonce(clientAddress(), { body: "{}", headers: { "content-type": "application/json" } })).status).toBe(200);
  });

  it("refuses any other body with a problem, and writes no nonce for it", async () => {
    const before = await nonceRows();
    const refused = [
      await askNonce(clientAddress(), { body: JSON.stringify({ anything: "x".repeat(1000) }), headers: { "content-type": "application/json" } }),
      await askNonce(clientAddress(), { body: "[1,2,3]", headers: { "content-type": "application/json" } }),
      await askNonce(clientAddress(), { body: "not json", headers: { "content-type": "application/json" } }),
      await askNonce(clientAddress(), { body: "hello", headers: { "content-type": "text/plain" } }),
    ];
    expect(refused.map((r) => r.status)).toEqual([422, 422, 400, 415]);
    for (const response of refused) expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(((await refused[0]!.json()) as { errors: Array<{ path: string }> }).errors.length).toBeGreaterThan(0);
    expect(await nonceRows()).toBe(before);
  });

  it("limits how many nonces one client address gets, without touching other addresses", async () => {
    const from = clientAddress();
    // A fresh address has its whole allowance.
    const first = await Promise.all(Array.from({ length: NONCES_PER_MINUTE }, () => askNonce(from)));
    expect(first.map((r) => r.status)).toEqual(Array(NONCES_PER_MINUTE).fill(200));
    // The window is a wall-clock minute: even if it turned over just now, one more allowance is all there is.
    let limited: Response | undefined;
    for (let i = 0; i <= NONCES_PER_MINUTE && !limited; i++) {
      const response = await askNonce(from);
      if (response.status === 429) limited = response;
      else expect(response.status).toBe(200);
    }
    expect(limited, "a 429 within two windows' allowance").toBeDefined();
    expect(limited!.headers.get("content-type")).toBe("application/problem+json");
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect(((await limited!.json()) as { detail: string }).detail).toMatch(/too many sign-in nonces/);
    expect((await askNonce(clientAddress())).status).toBe(200);
  });
});

describe("POST /v1/auth/keys", () => {
  it("exchanges a signed message for a key shown once", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const response = await post("/v1/auth/keys", await signedSiwe(account, await getNonce()));
    expect(response.status).toBe(201);
    const body = (await response.json()) as { id: string; key: string; address: string };
    expect(body.key).toMatch(/^pond_sk_[A-Za-z0-9_-]{43}$/);
    expect(body.address).toBe(account.address.toLowerCase());

    const listed = await call("/v1/auth/keys", { key: body.key });
    const text = await listed.text();
    expect(text).toContain(body.id);
    expect(text).not.toContain(body.key);
  });

  it("refuses a message for another domain", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const response = await post("/v1/auth/keys", await signedSiwe(account, await getNonce(), { domain: "evil.example" }));
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(((await response.json()) as { detail: string }).detail).toContain("evil.example");
  });

  it("refuses another chain and another URI", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    expect((await post("/v1/auth/keys", await signedSiwe(account, await getNonce(), { chainId: 1 }))).status).toBe(401);
    expect((await post("/v1/auth/keys", await signedSiwe(account, await getNonce(), { uri: "https://evil.example" }))).status).toBe(401);
  });

  it("refuses an address that is not in its EIP-55 checksum form, as EIP-4361 requires", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    // The message Spruce's `siwe` library would build from a lower-case address.
    const { message } = await signedSiwe(account, await getNonce());
    const lowerCased = message.replace(account.address, account.address.toLowerCase());
    expect(lowerCased).not.toBe(message);
    const response = await post("/v1/auth/keys", { message: lowerCased, signature: await account.signMessage({ message: lowerCased }) });
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await response.json()) as { detail: string; errors: Array<{ path: string; message: string }> };
    expect(problem.detail).toMatch(/EIP-55/);
    expect(problem.detail).toContain(account.address);
    expect(problem.errors.map((e) => e.path)).toEqual(["message"]);
  });

  it("refuses a message whose scheme is not the API's own", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    // EIP-4361's optional scheme: `http://pond.test wants you to sign in…` for an API served over https.
    const response = await post("/v1/auth/keys", await signedSiwe(account, await getNonce(), { scheme: "http" }));
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(((await response.json()) as { detail: string }).detail).toMatch(/scheme http, expected https/);
    // The API's own scheme, written out, is fine.
    expect((await post("/v1/auth/keys", await signedSiwe(account, await getNonce(), { scheme: "https" }))).status).toBe(201);
  });

  it("refuses a URI on another scheme or host than the API's", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    for (const uri of ["http://pond.test", "https://pond.test.evil.example", "wss://pond.test"]) {
      const response = await post("/v1/auth/keys", await signedSiwe(account, await getNonce(), { uri }));
      expect(response.status, uri).toBe(401);
      expect(((await response.json()) as { detail: string }).detail).toContain(`URI ${uri}`);
    }
  });

  it("refuses a nonce the server never issued", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const fields = await getNonce();
    const response = await post("/v1/auth/keys", await signedSiwe(account, { ...fields, nonce: "madeUpNonce12345" }));
    expect(response.status).toBe(401);
  });

  it("refuses an expired nonce", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const fields = await getNonce();
    // The message itself says it expired a minute ago.
    const past = new Date(Date.now() - 60_000);
    const response = await post("/v1/auth/keys", await signedSiwe(account, fields, { expirationTime: past, issuedAt: new Date(Date.now() - 120_000) }));
    expect(response.status).toBe(401);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/validity window/);
  });

  it("refuses a message issued in the future, beyond a minute of clock skew", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const future = await post("/v1/auth/keys", await signedSiwe(account, await getNonce(), { issuedAt: new Date("2099-01-01T00:00:00Z") }));
    expect(future.status).toBe(401);
    expect(((await future.json()) as { detail: string }).detail).toMatch(/Issued At \(2099-01-01T00:00:00.000Z\) is in the future/);
    // A wallet whose clock is a little ahead still signs in.
    const skewed = await post("/v1/auth/keys", await signedSiwe(account, await getNonce(), { issuedAt: new Date(Date.now() + 20_000) }));
    expect(skewed.status).toBe(201);
  });

  it("refuses a message issued longer ago than any nonce lives", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    // SIWE_NONCE_TTL_S defaults to 600 s.
    const stale = await post("/v1/auth/keys", await signedSiwe(account, await getNonce(), { issuedAt: new Date(Date.now() - 3_600_000) }));
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { detail: string }).detail).toMatch(/issued more than 600 s ago/);
  });

  it("refuses a replayed message", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const body = await signedSiwe(account, await getNonce());
    expect((await post("/v1/auth/keys", body)).status).toBe(201);
    const replay = await post("/v1/auth/keys", body);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { detail: string }).detail).toMatch(/already used/);
  });

  it("refuses a signature by someone else", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const impostor = privateKeyToAccount(generatePrivateKey());
    const { message } = await signedSiwe(account, await getNonce());
    const response = await post("/v1/auth/keys", { message, signature: await impostor.signMessage({ message }) });
    expect(response.status).toBe(401);
  });

  it("answers 422 naming the fields when the body is wrong", async () => {
    const response = await post("/v1/auth/keys", { message: "", signature: "nope" });
    expect(response.status).toBe(422);
    const problem = (await response.json()) as { errors: Array<{ path: string }> };
    expect(problem.errors.map((e) => e.path).sort()).toEqual(["message", "signature"]);
  });
});

describe("API keys", () => {
  it("revokes a key, after which it no longer works", async () => {
    const creator = await signIn();
    const keys = (await (await call("/v1/auth/keys", { key: creator.key })).json()) as { results: Array<{ id: string }> };
    const id = keys.results[0]!.id;
    expect((await call(`/v1/auth/keys/${id}`, { method: "DELETE", key: creator.key })).status).toBe(204);
    expect((await call("/v1/jobs", { key: creator.key })).status).toBe(401);
  });

  it("refuses a job from a revoked key, and writes nothing (the key is checked in the job's own write)", async () => {
    const creator = await signIn();
    const keys = (await (await call("/v1/auth/keys", { key: creator.key })).json()) as { results: Array<{ id: string }> };
    await call(`/v1/auth/keys/${keys.results[0]!.id}`, { method: "DELETE", key: creator.key });
    const refused = await post("/v1/jobs", validJob(), { key: creator.key });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/unknown or revoked/);
    const again = await signIn(creator.account);
    const listed = (await (await call("/v1/jobs", { key: again.key })).json()) as { results: unknown[] };
    expect(listed.results).toEqual([]);
  });

  it("accepts a job from a good key, and marks the key used", async () => {
    const creator = await signIn();
    expect((await post("/v1/jobs", validJob(), { key: creator.key })).status).toBe(201);
    const keys = (await (await call("/v1/auth/keys", { key: creator.key })).json()) as { results: Array<{ last_used_at: string | null }> };
    expect(keys.results[0]!.last_used_at).not.toBeNull();
  });

  it("cannot revoke someone else's key", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const keys = (await (await call("/v1/auth/keys", { key: alice.key })).json()) as { results: Array<{ id: string }> };
    expect((await call(`/v1/auth/keys/${keys.results[0]!.id}`, { method: "DELETE", key: bob.key })).status).toBe(404);
  });

  it("answers 401 to a missing or malformed key", async () => {
    expect((await call("/v1/jobs")).status).toBe(401);
    expect((await call("/v1/jobs", { headers: { authorization: "Basic abc" } })).status).toBe(401);
    expect((await call("/v1/jobs", { key: "pond_sk_" + "x".repeat(43) })).status).toBe(401);
  });
});
