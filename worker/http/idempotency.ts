// Idempotency-Key on POST (draft-ietf-httpapi-idempotency-key-header): the same
// key and body get the first response again; the same key with another body is
// refused (422); a request still running under the key answers 409. Keys live 24 h.
// A response holding a secret is never stored as it is: its route names a body
// without the secret for replays (`replayBody`), so a secret is shown once.
// A request refused before it ran leaves no result under its key (as Stripe
// does), so the client can correct it and send it again with the same key.
import { and, eq, sql } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { idempotencyKeys } from "../db/schema.ts";
import { hmacSha256Hex } from "../security/randomToken.ts";
import type { AppEnv } from "./appEnv.ts";
import { badRequest, conflict, unprocessable } from "../errors/problem.ts";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Refusals of what the request says (malformed, too large, not JSON, invalid): every route checks
 * what it is sent before it writes anything, so a request answered with one of these did nothing.
 */
const REFUSED_AS_SENT = new Set([400, 413, 415, 422]);

/** Headers that are part of an answer, so a replay repeats them: where the created resource is, what was honoured. */
const REPLAYED_HEADERS = ["location", "preference-applied"] as const;
const StoredHeaders = z.partialRecord(z.enum(REPLAYED_HEADERS), z.string());

function replayedHeadersOf(response: Response): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) kept[name] = value;
  }
  return kept;
}

export const idempotency = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (c.req.method !== "POST" || key === undefined) return next();
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw badRequest("Idempotency-Key must be 1 to 255 visible ASCII characters");

  const db = c.get("db");
  const account = c.get("account");
  // Keyed: a body may hold secrets (a job's secret_values), and a plain hash of it in D1 would let whoever reads D1 test guesses.
  const requestHash = await hmacSha256Hex(c.get("config").secretsKey, `${c.req.method} ${new URL(c.req.url).pathname}\n${await c.req.text()}`);
  const now = Date.now();

  // Claim the key, or take over one that has expired; otherwise someone holds it.
  const claimed = await db
    .insert(idempotencyKeys)
    .values({ account, key, requestHash, state: "in_flight", createdAt: now, expiresAt: now + IDEMPOTENCY_TTL_MS })
    .onConflictDoUpdate({
      target: [idempotencyKeys.account, idempotencyKeys.key],
      set: { requestHash, state: "in_flight", responseStatus: null, responseBody: null, responseContentType: null, responseHeaders: null, createdAt: now, expiresAt: now + IDEMPOTENCY_TTL_MS },
      setWhere: sql`${idempotencyKeys.expiresAt} <= ${now}`,
    })
    .returning({ key: idempotencyKeys.key });

  const where = and(eq(idempotencyKeys.account, account), eq(idempotencyKeys.key, key));
  if (claimed.length === 0) {
    const held = (await db.select().from(idempotencyKeys).where(where))[0];
    if (!held) throw conflict("idempotency-conflict", "the Idempotency-Key was released while you asked; send the request again");
    if (held.requestHash !== requestHash) {
      throw unprocessable("this Idempotency-Key was already used with a different request body; use a new key for a new request", [
        { path: "Idempotency-Key", message: "already used with another body" },
      ]);
    }
    if (held.state === "in_flight") throw conflict("idempotency-in-flight", "a request with this Idempotency-Key is still being processed; retry shortly");
    return new Response(held.responseBody, {
      status: held.responseStatus ?? 200,
      headers: { ...StoredHeaders.parse(held.responseHeaders ?? {}), "content-type": held.responseContentType ?? "application/json", "idempotent-replayed": "true" },
    });
  }

  await next();

  // Server errors and requests refused before they ran are not remembered: the client may retry them with the same key.
  if (c.res.status >= 500 || REFUSED_AS_SENT.has(c.res.status)) {
    await db.delete(idempotencyKeys).where(where);
    return;
  }
  try {
    await db
      .update(idempotencyKeys)
      .set({
        state: "done",
        responseStatus: c.res.status,
        responseBody: c.get("replayBody") ?? (await c.res.clone().text()),
        responseContentType: c.res.headers.get("content-type"),
        responseHeaders: replayedHeadersOf(c.res),
      })
      .where(where);
  } catch (error) {
    // The request ran (jobs may exist): its answer still goes out rather than a 500 that reads as "nothing happened".
    // Not kept (an answer past D1's 2 MB value, say), the key is released, not left in flight for a day.
    console.error(`could not keep the answer under an Idempotency-Key (${c.req.method} ${new URL(c.req.url).pathname}); the key is released:`, error);
    await db.delete(idempotencyKeys).where(where).catch(() => undefined);
  }
});
