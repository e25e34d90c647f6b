// Asks that cost Pond something the asker does not pay for are bounded a minute:
// a sign-in nonce (a row in D1) per client address, and a quote (a run of the
// matcher inside the one matchmaker that every job of its class shares) per
// account, so one caller cannot slow matching for everyone. Cloudflare's
// rate-limit bindings (wrangler.toml), enforced per location: a bound on load,
// not an exact count. The client address is CF-Connecting-IP, which Cloudflare's
// edge sets and a client cannot.
import { tooManyRequests } from "../errors/problem.ts";

/** The limiters' window (wrangler.toml `simple.period`), for Retry-After. */
const WINDOW_S = 60;

async function within(limiter: RateLimit, key: string, refusal: string): Promise<void> {
  const { success } = await limiter.limit({ key });
  if (!success) throw tooManyRequests(`${refusal}; ask again in up to ${WINDOW_S} s`, WINDOW_S);
}

export const assertNonceAllowed = (env: Env, clientAddress: string | undefined) =>
  within(env.NONCE_LIMITER, `nonce:${clientAddress ?? "unknown"}`, "too many sign-in nonces asked from your address");

export const assertQuoteAllowed = (env: Env, account: string) => within(env.QUOTE_LIMITER, `quote:${account}`, "too many quotes asked by this account");
