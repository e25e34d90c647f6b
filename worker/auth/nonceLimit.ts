// Every sign-in nonce is a row in D1, so each client address may ask for a
// bounded number a minute (the NONCE_LIMITER binding in wrangler.toml). The
// address is CF-Connecting-IP, which Cloudflare's edge sets and a client cannot.
import { tooManyRequests } from "../errors/problem.ts";

/** The limiter's window (wrangler.toml `simple.period`), for Retry-After. */
const WINDOW_S = 60;

export async function assertNonceAllowed(env: Env, clientAddress: string | undefined): Promise<void> {
  const { success } = await env.NONCE_LIMITER.limit({ key: `nonce:${clientAddress ?? "unknown"}` });
  if (!success) throw tooManyRequests(`too many sign-in nonces asked from your address; ask again in up to ${WINDOW_S} s`, WINDOW_S);
}
