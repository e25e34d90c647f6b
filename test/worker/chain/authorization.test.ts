import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { jobAuthorizationTypes, pondDomain, specHashOf } from "../../../protocol/eip712.ts";
import { isTolerant } from "../../../protocol/verification.ts";
import type { ChainInfo } from "../../../protocol/account.ts";
import type { JobSpec } from "../../../protocol/jobSpec.ts";
import { signJobAuthorization } from "../../../sdk/authorization.ts";
import { earliestDeadline } from "../../../protocol/deadlines.ts";
import { checkAuthorization } from "../../../worker/chain/authorization.ts";
import { malleableTwin } from "../../helpers/signatures.ts";

const domain = pondDomain(31337, "0x00000000000000000000000000000000000000aa");
const spec: JobSpec = { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 60, max_price_wei: "1000" };
/** Outputs whose numbers may differ in their last bits: a challenge is judged by the mediator's verdict. */
const tolerantSpec: JobSpec = { ...spec, verify: { mode: "tolerant", files: [{ path: "metrics.json", format: "json", rtol: 1e-6, atol: 0 }] } };
const now = Date.parse("2026-11-24T12:00:00Z");

/** The creator's signature, built by hand (not with the code under test): `tolerant` is the spec's unless given. */
async function sign(account = privateKeyToAccount(generatePrivateKey()), overrides: Partial<{ spec: JobSpec; deadline: number; tolerant: boolean }> = {}) {
  const signed = overrides.spec ?? spec;
  const deadline = overrides.deadline ?? earliestDeadline(spec, now) + 60;
  const jobKey = `0x${"ab".repeat(32)}` as const;
  const signature = await account.signTypedData({
    domain,
    types: jobAuthorizationTypes,
    primaryType: "JobAuthorization",
    message: { jobId: jobKey, specHash: specHashOf(signed), maxPrice: BigInt(signed.max_price_wei), deadline: BigInt(deadline), tolerant: overrides.tolerant ?? isTolerant(signed) },
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

  it("accepts a tolerant spec's authorization signed with tolerant = true", async () => {
    const { account, authorization } = await sign(undefined, { spec: tolerantSpec });
    await expect(checkAuthorization({ creator: account.address, spec: tolerantSpec, authorization, domain, nowMs: now })).resolves.toBe(authorization.signature);
  });

  it("refuses, as a 422 that says which flag to sign, an authorization whose tolerant flag is not the spec's", async () => {
    const withoutFlag = await sign(undefined, { spec: tolerantSpec, tolerant: false });
    const refusal = await checkAuthorization({ creator: withoutFlag.account.address, spec: tolerantSpec, authorization: withoutFlag.authorization, domain, nowMs: now }).catch((error: unknown) => error);
    expect(refusal).toMatchObject({
      status: 422,
      message: "the authorization was signed with tolerant = false, but this spec's verify.mode is tolerant: sign the JobAuthorization again with tolerant = true",
    });
    const withFlag = await sign(undefined, { tolerant: true });
    const exactRefusal = await checkAuthorization({ creator: withFlag.account.address, spec, authorization: withFlag.authorization, domain, nowMs: now }).catch((error: unknown) => error);
    expect(exactRefusal).toMatchObject({ status: 422, message: expect.stringMatching(/signed with tolerant = true, but this spec is verified exactly .* with tolerant = false/) });
  });

  it("accepts what the SDK signs for an exact and a tolerant spec: the flag comes from the spec on both sides", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const chain = { settles_on_chain: true, eip712_domain: domain } as unknown as ChainInfo;
    for (const signed of [spec, tolerantSpec]) {
      const authorization = await signJobAuthorization(wallet, chain, signed);
      await expect(checkAuthorization({ creator: wallet.address, spec: signed, authorization, domain, nowMs: Date.now() })).resolves.toBe(authorization.signature);
    }
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
