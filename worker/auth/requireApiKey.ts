// Bearer-key authentication for every creator route.
import { and, eq, isNull } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { apiKeys } from "../db/schema.ts";
import type { AppEnv } from "../http/appEnv.ts";
import { unauthorized } from "../http/problem.ts";
import { hashApiKey, looksLikeApiKey } from "./apiKeys.ts";

/** Writing last_used_at on every request would double the writes; once a minute is enough. */
const LAST_USED_RESOLUTION_MS = 60_000;

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  if (!header) throw unauthorized("send your API key as `Authorization: Bearer pond_sk_…` (create one with POST /v1/auth/keys)");
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthorized("the Authorization header must be `Bearer <key>`");
  const key = match[1]!;
  if (!looksLikeApiKey(key)) throw unauthorized("that is not a Pond API key (they start with pond_sk_)");

  const db = c.get("db");
  const found = (
    await db
      .select({ id: apiKeys.id, account: apiKeys.account, lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, await hashApiKey(key)), isNull(apiKeys.revokedAt)))
  )[0];
  if (!found) throw unauthorized("the API key is unknown or revoked");

  c.set("account", found.account as `0x${string}`);
  c.set("apiKeyId", found.id);
  const now = Date.now();
  if (found.lastUsedAt === null || now - found.lastUsedAt > LAST_USED_RESOLUTION_MS) {
    c.executionCtx.waitUntil(db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, found.id)));
  }
  await next();
});
