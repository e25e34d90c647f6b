// Bearer-key authentication for every creator route.
import { and, eq, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { isChainConfigured } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import { apiKeys } from "../db/schema.ts";
import type { AppEnv } from "../http/appEnv.ts";
import { unauthorized, unknownApiKey } from "../errors/problem.ts";
import { hashApiKey, looksLikeApiKey } from "./apiKeys.ts";

/** Writing last_used_at on every request would double the writes; once a minute is enough. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** A read that may ride along with the key lookup, in the same D1 round trip. */
type Preload = (c: Context<AppEnv>) => BatchItem<"sqlite">;

/** The key from `Authorization: Bearer …`, or a 401 saying what is wrong with the header. */
function bearerKey(c: Context<AppEnv>): string {
  const header = c.req.header("authorization");
  if (!header) throw unauthorized("send your API key as `Authorization: Bearer pond_sk_…` (create one with POST /v1/auth/keys)");
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthorized("the Authorization header must be `Bearer <key>`");
  const key = match[1]!;
  if (!looksLikeApiKey(key)) throw unauthorized("that is not a Pond API key (they start with pond_sk_)");
  return key;
}

const validKey = (keyHash: string) => and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt));

/**
 * The key lookup alone, or batched with the one read a route needs: `c.get("preloaded")`
 * then holds that read's rows. Authentication is always decided before the route runs.
 */
export const requireApiKeyWith = (preload?: Preload) => createMiddleware<AppEnv>(async (c, next) => {
  await authenticate(c, await hashApiKey(bearerKey(c)), preload);
  await next();
});

export const requireApiKey = requireApiKeyWith();

async function authenticate(c: Context<AppEnv>, keyHash: string, preload?: Preload): Promise<void> {
  const db = c.get("db");
  const lookup = db.select({ id: apiKeys.id, account: apiKeys.account, lastUsedAt: apiKeys.lastUsedAt }).from(apiKeys).where(validKey(keyHash));
  const [keys, preloaded] = preload ? await db.batch([lookup, preload(c)]) : [await lookup, undefined];
  const found = keys[0];
  if (!found) throw unknownApiKey();
  if (preload) c.set("preloaded", preloaded);

  c.set("account", found.account as `0x${string}`);
  const now = Date.now();
  if (found.lastUsedAt === null || now - found.lastUsedAt > LAST_USED_RESOLUTION_MS) {
    c.executionCtx.waitUntil(db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, found.id)));
  }
}

/**
 * For a route that checks the key inside its own write batch, so the check and
 * the write cost one D1 round trip: the header is checked now and the key's hash
 * left for the route (`keyCheckedInBatch`). A request with an Idempotency-Key, or
 * one that must be funded on chain, needs its account first and is checked at once.
 */
export const requireApiKeyInBatch = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.header("idempotency-key") !== undefined || isChainConfigured(c.get("config"))) return requireApiKey(c, next);
  c.set("apiKeyHash", await hashApiKey(bearerKey(c)));
  await next();
});

export interface BatchedKeyCheck {
  /** The owning account, as SQL read from the key inside the batch: NULL when the key is unknown or revoked. */
  account: SQL;
  /** Marks the key used (at most once a minute), in the same batch. */
  touch: BatchItem<"sqlite">;
}

/** A route behind requireApiKeyInBatch that must know the account before its batch checks the key now. */
export async function checkApiKeyNow(c: Context<AppEnv>): Promise<void> {
  const keyHash = c.get("apiKeyHash");
  if (keyHash === undefined) return;
  await authenticate(c, keyHash);
  c.set("apiKeyHash", undefined);
}

/** What a route behind requireApiKeyInBatch puts in its batch; undefined when the key was already checked. */
export function keyCheckedInBatch(c: Context<AppEnv>, db: Db): BatchedKeyCheck | undefined {
  const keyHash = c.get("apiKeyHash");
  if (keyHash === undefined) return undefined;
  const now = Date.now();
  return {
    account: sql`(SELECT ${apiKeys.account} FROM ${apiKeys} WHERE ${validKey(keyHash)})`,
    touch: db
      .update(apiKeys)
      .set({ lastUsedAt: now })
      .where(and(validKey(keyHash), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, now - LAST_USED_RESOLUTION_MS)))),
  };
}
