// Creators sign in with their wallet (SIWE) and manage API keys.
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, isNull } from "drizzle-orm";
import { CreatedApiKey, SiweNonce } from "../../protocol/account.ts";
import { displayPrefix, generateApiKey, hashApiKey } from "../auth/apiKeys.ts";
import { assertNonceAllowed } from "../auth/rateLimits.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { issueNonce, verifySignIn, type SiweExpectations } from "../auth/siwe.ts";
import { chainOf } from "../config/chains.ts";
import { accounts, apiKeys } from "../db/schema.ts";
import { notFound } from "../errors/problem.ts";
import { randomId } from "../security/randomToken.ts";
import { sealSecret } from "../security/secretBox.ts";
import { generateWebhookSecret } from "../webhooks/secrets.ts";
import { bearer, createRouter, problems } from "./openapi.ts";

const CreateKeyRequest = z
  .object({
    message: z.string().min(1).max(4096).openapi({ description: "The EIP-4361 message, as signed" }),
    signature: z.string().regex(/^0x[0-9a-fA-F]+$/, "must be a 0x-prefixed hex signature"),
  })
  .strict()
  .openapi("CreateKeyRequest");

// Nothing to send: a body, if any, must be empty JSON, so the route cannot be used to post arbitrary data.
const NonceRequest = z.object({}).strict().openapi("NonceRequest");

const ApiKeySummary = z.object({ id: z.string(), prefix: z.string(), created_at: z.string(), last_used_at: z.string().nullable() }).openapi("ApiKey");

const nonceRoute = createRoute({
  method: "post",
  path: "/nonce",
  operationId: "createSignInNonce",
  security: [],
  summary: "Get a single-use nonce and the fields of a Sign-In with Ethereum message",
  description: "Send no body, or `{}`. Each client address may ask for a limited number of nonces a minute; past that the answer is 429 with `Retry-After`.",
  request: { body: { required: false, content: { "application/json": { schema: NonceRequest } } } },
  responses: {
    200: { description: "Nonce issued", content: { "application/json": { schema: SiweNonce } } },
    400: problems[400],
    415: problems[415],
    422: problems[422],
    429: problems[429],
  },
});

const createKeyRoute = createRoute({
  method: "post",
  path: "/keys",
  operationId: "createApiKey",
  // No key yet: the signed message is the credential.
  security: [],
  summary: "Exchange a signed SIWE message for an API key",
  request: { body: { required: true, content: { "application/json": { schema: CreateKeyRequest } } } },
  responses: {
    201: { description: "Key created", content: { "application/json": { schema: CreatedApiKey } } },
    401: problems[401],
    422: problems[422],
  },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/keys",
  operationId: "listApiKeys",
  summary: "List your API keys (never their secrets)",
  security: bearer,
  middleware: [requireApiKey] as const,
  responses: { 200: { description: "Keys", content: { "application/json": { schema: z.object({ results: z.array(ApiKeySummary) }) } } }, 401: problems[401] },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/keys/{id}",
  operationId: "revokeApiKey",
  summary: "Revoke an API key",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: { params: z.object({ id: z.string() }) },
  responses: { 204: { description: "Revoked" }, 401: problems[401], 404: problems[404] },
});

function expectationsFor(c: { req: { url: string }; get(key: "config"): import("../config/config.ts").Config }): SiweExpectations {
  const config = c.get("config");
  const url = new URL(c.req.url);
  return { domain: config.siwe.domain ?? url.host, uri: config.publicUrl ?? url.origin, chainId: chainOf(config).id };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const authRoutes = createRouter()
  .openapi(nonceRoute, async (c) => {
    await assertNonceAllowed(c.env, c.req.header("cf-connecting-ip"));
    const issued = await issueNonce(c.get("db"), expectationsFor(c), c.get("config").siwe.nonceTtlMs);
    return c.json(
      {
        nonce: issued.nonce,
        domain: issued.domain,
        uri: issued.uri,
        chain_id: issued.chainId,
        statement: c.get("config").siwe.statement,
        issued_at: new Date(issued.issuedAt).toISOString(),
        expires_at: new Date(issued.expiresAt).toISOString(),
      },
      200,
    );
  })
  .openapi(createKeyRoute, async (c) => {
    const { message, signature } = c.req.valid("json");
    const db = c.get("db");
    const address = await verifySignIn(db, expectationsFor(c), message, signature as `0x${string}`, c.get("config").siwe.nonceTtlMs);
    const key = generateApiKey();
    const id = randomId("key");
    const now = Date.now();
    await db.batch([
      db
        .insert(accounts)
        .values({ address, webhookSecretEnc: await sealSecret(c.get("config").secretsKey, generateWebhookSecret()), createdAt: now })
        .onConflictDoNothing(),
      db.insert(apiKeys).values({ id, account: address, keyHash: await hashApiKey(key), prefix: displayPrefix(key), createdAt: now }),
    ]);
    return c.json({ id, key, address }, 201);
  })
  .openapi(listKeysRoute, async (c) => {
    const rows = await c
      .get("db")
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.account, c.get("account")), isNull(apiKeys.revokedAt)))
      .orderBy(desc(apiKeys.createdAt));
    return c.json(
      { results: rows.map((row) => ({ id: row.id, prefix: row.prefix, created_at: iso(row.createdAt)!, last_used_at: iso(row.lastUsedAt) })) },
      200,
    );
  })
  .openapi(revokeKeyRoute, async (c) => {
    const revoked = await c
      .get("db")
      .update(apiKeys)
      .set({ revokedAt: Date.now() })
      .where(and(eq(apiKeys.id, c.req.valid("param").id), eq(apiKeys.account, c.get("account")), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    if (revoked.length === 0) throw notFound("API key");
    return c.body(null, 204);
  });
