import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { jobAuthorizationTypes, pondDomain, specHashOf } from "../../../protocol/eip712.ts";
import type { JobSpec } from "../../../protocol/jobSpec.ts";
import { checkAuthorization, earliestDeadline } from "../../../worker/chain/authorization.ts";
import { malleableTwin } from "../../helpers/signatures.ts";

const domain = pondDomain(31337, "0x00000000000000000000000000000000000000aa");
const spec: JobSpec = { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 60, max_price_wei: "1000" };
const now = Date.parse("2026-11-24T12:00:00Z");

async function sign(account = privateKeyToAccount(generatePrivateKey()), overrides: Partial<{ spec: JobSpec; deadline: number }> = {}) {
  const deadline = overrides.deadline ?? earliestDeadline(spec, now) + 60;
  const jobKey = `0x${"ab".repeat(32)}` as const;
  const signature = await account.signTypedData({
    domain,
    types: jobAuthorizationTypes,
    primaryType: "JobAuthorization",
    message: { jobId: jobKey, specHash: specHashOf(overrides.spec ?? spec), maxPrice: BigInt((overrides.spec ?? spec).max_price_wei), deadline: BigInt(deadline) },
  });
  return { account, authorization: { job_key: jobKey, deadline, signature } };
}

describe("checkAuthorization", () => {
  it("accepts the creator's signature over this spec, price and deadline", async () => {
    const { account, authorization } = await sign();
    await expect(checkAuthorization({ creator: account.address, spec, authorization, domain, nowMs: now })).resolves.toBe(authorization.signature);
  });

  it("accepts the high-s twin of the creator's signature and returns the canonical one, the form the contract takes", async () => {
    const { account, authorization } = await sign();
    const twin = { ...authorization, signature: malleableTwin(authorization.signature) };
    await expect(checkAuthorization({ creator: account.address, spec, authorization: twin, domain, nowMs: now })).resolves.toBe(authorization.signature);
  });

  it("refuses, as a 422 that says why, a signature with a v no signer makes", async () => {
    const { account, authorization } = await sign();
    const badV = { ...authorization, signature: `${authorization.signature.slice(0, 130)}1d` };
    const refusal = await checkAuthorization({ creator: account.address, spec, authorization: badV, domain, nowMs: now }).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ status: 422, message: expect.stringMatching(/not a usable ECDSA signature: its v is 29/) });
  });

  it("refuses a signature by someone else", async () => {
    const { authorization } = await sign();
    const other = privateKeyToAccount(generatePrivateKey());
    await expect(checkAuthorization({ creator: other.address, spec, authorization, domain, nowMs: now })).rejects.toThrow(/not your signature/);
  });

  it("refuses a signature over another spec or price", async () => {
    const { account, authorization } = await sign(undefined, { spec: { ...spec, max_price_wei: "999" } });
    await expect(checkAuthorization({ creator: account.address, spec, authorization, domain, nowMs: now })).rejects.toThrow(/not your signature/);
  });

  it("refuses a signature for another contract or chain", async () => {
    const { account, authorization } = await sign();
    const elsewhere = pondDomain(42161, "0x00000000000000000000000000000000000000aa");
    await expect(checkAuthorization({ creator: account.address, spec, authorization, domain: elsewhere, nowMs: now })).rejects.toThrow(/not your signature/);
  });

  it("refuses a deadline too soon to run and report the job, or too far away", async () => {
    const soon = await sign(undefined, { deadline: earliestDeadline(spec, now) - 1 });
    await expect(checkAuthorization({ creator: soon.account.address, spec, authorization: soon.authorization, domain, nowMs: now })).rejects.toThrow(/leaves no time/);
    const far = await sign(undefined, { deadline: Math.ceil(now / 1000) + 31 * 86_400 });
    await expect(checkAuthorization({ creator: far.account.address, spec, authorization: far.authorization, domain, nowMs: now })).rejects.toThrow(/30 days/);
  });
});
