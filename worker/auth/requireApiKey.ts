// Bearer-key authentication for every creator route.
import { and, eq, isNull } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { apiKeys } from "../db/schema.ts";
import type { AppEnv } from "../http/appEnv.ts";
import { unauthorized } from "../http/problem.ts";
import { hashApiKey, looksLikeApiKey } from "./apiKeys.ts";

/** Writing last_used_at on every request would double the writes; once a minute is enough. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** A read that may ride along with the key lookup, in the same D1 round trip. */
type Preload = (c: Context<AppEnv>) => BatchItem<"sqlite">;

/**
 * The key lookup alone, or batched with the one read a route needs: `c.get("preloaded")`
 * then holds that read's rows. Authentication is always decided before the route runs.
 */
export const requireApiKeyWith = (preload?: Preload) => createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  if (!header) throw unauthorized("send your API key as `Authorization: Bearer pond_sk_…` (create one with POST /v1/auth/keys)");
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthorized("the Authorization header must be `Bearer <key>`");
  const key = match[1]!;
  if (!looksLikeApiKey(key)) throw unauthorized("that is not a Pond API key (they start with pond_sk_)");

  const db = c.get("db");
  const lookup = db
    .select({ id: apiKeys.id, account: apiKeys.account, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, await hashApiKey(key)), isNull(apiKeys.revokedAt)));
  const [keys, preloaded] = preload ? await db.batch([lookup, preload(c)]) : [await lookup, undefined];
  const found = keys[0];
  if (!found) throw unauthorized("the API key is unknown or revoked");
  if (preload) c.set("preloaded", preloaded);

  c.set("account", found.account as `0x${string}`);
  c.set("apiKeyId", found.id);
  const now = Date.now();
  if (found.lastUsedAt === null || now - found.lastUsedAt > LAST_USED_RESOLUTION_MS) {
    c.executionCtx.waitUntil(db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, found.id)));
  }
  await next();
});

export const requireApiKey = requireApiKeyWith();
