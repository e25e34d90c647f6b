// Sign-In with Ethereum (EIP-4361): the server issues a single-use nonce and the
// fields a client needs to build the message; a signed message that matches
// them, inside its validity window, proves the address.
import { sql } from "drizzle-orm";
import { getAddress } from "viem";
import { parseSiweMessage, validateSiweMessage } from "viem/siwe";
import type { Db } from "../db/client.ts";
import { authNonces } from "../db/schema.ts";
import { unauthorized, unprocessable } from "../errors/problem.ts";
import { randomToken } from "../security/randomToken.ts";
import { checkMessageSignature } from "../security/signatures.ts";

export interface SiweExpectations {
  domain: string;
  uri: string;
  chainId: number;
}

/**
 * 26 characters of base32 from the CSPRNG: 130 bits, alphanumeric as EIP-4361 asks. Not viem's
 * generateSiweNonce, whose nonces are overlapping slices of one Math.random string.
 */
const NONCE_CHARS = 26;

/** How far ahead of our clock a wallet's clock may be. */
export const MAX_CLOCK_SKEW_MS = 60_000;

export interface IssuedNonce extends SiweExpectations {
  nonce: string;
  issuedAt: number;
  expiresAt: number;
}

export async function issueNonce(db: Db, expect: SiweExpectations, ttlMs: number): Promise<IssuedNonce> {
  const nonce = randomToken(NONCE_CHARS);
  const issuedAt = Date.now();
  const expiresAt = issuedAt + ttlMs;
  await db.batch([
    db.insert(authNonces).values({ nonce, issuedAt, expiresAt }),
    // Housekeeping rides along: drop nonces that expired a day ago.
    db.delete(authNonces).where(sql`${authNonces.expiresAt} < ${issuedAt - 86_400_000}`),
  ]);
  return { nonce, issuedAt, expiresAt, ...expect };
}

/**
 * Checks a signed SIWE message and spends its nonce. Returns the signer's address.
 * `nonceTtlMs` bounds how old the message may say it is: no nonce it could carry lives longer.
 */
export async function verifySignIn(
  db: Db,
  expect: SiweExpectations,
  message: string,
  signature: `0x${string}`,
  nonceTtlMs: number,
): Promise<`0x${string}`> {
  const fields = parseSiweMessage(message);
  if (!fields.address || !fields.nonce || !fields.domain || !fields.uri || fields.chainId === undefined || fields.version !== "1" || !fields.issuedAt) {
    throw unprocessable("the message is not an EIP-4361 sign-in message", [{ path: "message", message: "must be a complete EIP-4361 message (with Issued At)" }]);
  }
  // EIP-4361: "address … MUST be … in EIP-55 mixed-case checksum format" (Spruce's `siwe` refuses it too).
  const checksummed = getAddress(fields.address);
  if (fields.address !== checksummed) {
    throw unprocessable(`the message's address must be in its EIP-55 checksum form (${checksummed}), as EIP-4361 requires`, [
      { path: "message", message: "the address must be EIP-55 mixed-case" },
    ]);
  }
  const issuedAt = fields.issuedAt.getTime();
  const nowMs = Date.now();
  if (Number.isNaN(issuedAt)) {
    throw unprocessable("the message's Issued At is not a valid time", [{ path: "message", message: "Issued At must be an RFC 3339 time" }]);
  }
  if (issuedAt > nowMs + MAX_CLOCK_SKEW_MS) {
    throw unauthorized(`the message's Issued At (${fields.issuedAt.toISOString()}) is in the future: sign a new message with the current time`);
  }
  if (issuedAt < nowMs - nonceTtlMs) {
    throw unauthorized(`the message was issued more than ${Math.round(nonceTtlMs / 1000)} s ago, longer than any nonce lives: ask POST /v1/auth/nonce for a new one`);
  }
  // EIP-4361's optional scheme before the domain: when a message names one, it must be the API's own
  // (a wallet shows it as the origin asking). None is fine: the URI, checked next, carries it too.
  const scheme = new URL(expect.uri).protocol.replace(/:$/, "");
  if (fields.scheme !== undefined && fields.scheme !== scheme) throw unauthorized(`the message is for scheme ${fields.scheme}, expected ${scheme}`);
  if (fields.domain !== expect.domain) throw unauthorized(`the message is for domain ${fields.domain}, expected ${expect.domain}`);
  if (fields.uri !== expect.uri) throw unauthorized(`the message is for URI ${fields.uri}, expected ${expect.uri}`);
  if (fields.chainId !== expect.chainId) throw unauthorized(`the message is for chain ${fields.chainId}, expected ${expect.chainId}`);
  if (!validateSiweMessage({ message: fields, domain: expect.domain, time: new Date() })) {
    throw unauthorized("the message is outside its validity window (expirationTime / notBefore)");
  }
  const signed = await checkMessageSignature(fields.address, message, signature);
  if (!signed.ok) throw unauthorized(signed.problem === "malformed" ? `the signature is not usable: ${signed.reason}` : "the signature does not match the message's address");

  const now = Date.now();
  const spent = await db
    .update(authNonces)
    .set({ usedAt: now })
    .where(sql`${authNonces.nonce} = ${fields.nonce} AND ${authNonces.usedAt} IS NULL AND ${authNonces.expiresAt} > ${now}`)
    .returning({ nonce: authNonces.nonce });
  if (spent.length === 0) throw unauthorized("the nonce is unknown, expired or already used: ask POST /v1/auth/nonce for a new one");
  return fields.address.toLowerCase() as `0x${string}`;
}
