// Webhook endpoints of an account, their deliveries, and replays.
import { createRoute, z } from "@hono/zod-openapi";
import { and, count, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { DEFAULT_ENDPOINT, WebhookDelivery as Delivery, WebhookEndpoint } from "../../protocol/webhookDeliveries.ts";
import { type WebhookEventType, webhookEventTypes, WebhookEventsFilter } from "../../protocol/webhookEvents.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { jobContextOf } from "../http/context.ts";
import { dispatchTestEvent, MAX_ENDPOINTS_PER_ACCOUNT } from "../webhooks/outbox.ts";
import { webhookQueue } from "../bindings/queues.ts";
import { accounts, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema.ts";
import { conflict, notFound, unprocessable } from "../errors/problem.ts";
import { idempotency } from "../http/idempotency.ts";
import { randomId } from "../security/randomToken.ts";
import { openSecret, sealSecret } from "../security/secretBox.ts";
import { generateWebhookSecret } from "../webhooks/secrets.ts";
import { assertWebhookUrlAllowed, resolveWithDoh, WebhookUrlError } from "../webhooks/urlPolicy.ts";
import { bearer, createRouter, jsonContent, problems } from "./openapi.ts";


const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const CreateWebhookRequest = z
  .object({ url: z.url({ protocol: /^https?$/ }).max(2048), events: WebhookEventsFilter.optional() })
  .strict()
  .openapi("CreateWebhookRequest");
const SECRET_SHOWN_ONCE =
  "the secret is shown only once, in the answer to the request that created the endpoint; if it was lost, delete the endpoint and create a new one";
const CreatedEndpoint = WebhookEndpoint.extend({
  secret: z.string().nullable().openapi({ description: "whsec_…: shown once. `null` in an idempotent replay, which never shows it again" }),
  secret_note: z.string().optional().openapi({ description: "Only in an idempotent replay: why `secret` is null" }),
}).openapi("CreatedWebhookEndpoint");

type EndpointRow = typeof webhookEndpoints.$inferSelect;
const toEndpoint = (row: EndpointRow) => ({
  id: row.id,
  url: row.url,
  events: row.events as WebhookEventType[],
  created_at: iso(row.createdAt)!,
  disabled_at: iso(row.disabledAt),
  disabled_reason: row.disabledReason,
});

const createRouteDef = createRoute({
  method: "post",
  path: "/",
  operationId: "createWebhookEndpoint",
  summary: "Register a webhook endpoint",
  description:
    "At most 10 endpoints per account. The answer holds the endpoint's signing secret, shown this once: it is stored only sealed, never in the idempotency record. " +
    "An idempotent replay (the same `Idempotency-Key` and body within 24 h) answers 201 with the same endpoint, `secret: null` and a `secret_note`, and the header `idempotent-replayed: true`; " +
    "a client that lost the secret deletes the endpoint and creates another.",
  security: bearer,
  request: { body: { required: true, content: { "application/json": { schema: CreateWebhookRequest } } } },
  responses: { 201: jsonContent(CreatedEndpoint, "Endpoint created; its secret is shown only now"), 401: problems[401], 409: problems[409], 422: problems[422] },
});
const listRouteDef = createRoute({
  method: "get",
  path: "/",
  operationId: "listWebhookEndpoints",
  summary: "List webhook endpoints",
  security: bearer,
  responses: { 200: jsonContent(z.object({ results: z.array(WebhookEndpoint) }), "Endpoints"), 401: problems[401] },
});
const defaultSecretRoute = createRoute({
  method: "get",
  path: "/default/secret",
  operationId: "getDefaultWebhookSecret",
  summary: "The secret that signs deliveries to jobs' own `webhook` URLs",
  security: bearer,
  responses: { 200: jsonContent(z.object({ secret: z.string() }), "The default signing secret"), 401: problems[401] },
});
const deleteRouteDef = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "deleteWebhookEndpoint",
  summary: "Delete a webhook endpoint",
  security: bearer,
  request: { params: z.object({ id: z.string() }) },
  responses: { 204: { description: "Deleted" }, 401: problems[401], 404: problems[404] },
});
const deliveriesRoute = createRoute({
  method: "get",
  path: "/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  summary: "Deliveries to an endpoint (`default` for jobs' own URLs), newest first, with every attempt",
  security: bearer,
  request: { params: z.object({ id: z.string() }), query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) }) },
  responses: { 200: jsonContent(z.object({ results: z.array(Delivery) }), "Deliveries"), 401: problems[401], 404: problems[404] },
});
const replayRoute = createRoute({
  method: "post",
  path: "/{id}/deliveries/{delivery_id}/replay",
  operationId: "replayWebhookDelivery",
  summary: "Send a delivery again (same webhook-id), with a fresh retry schedule",
  security: bearer,
  request: { params: z.object({ id: z.string(), delivery_id: z.string() }) },
  responses: { 202: jsonContent(z.object({ id: z.string(), state: z.literal("pending") }), "Queued again"), 401: problems[401], 404: problems[404], 409: problems[409] },
});

const testRoute = createRoute({
  method: "post",
  path: "/{id}/test",
  operationId: "sendWebhookTest",
  summary: "Send a signed test event (`webhook.test`) to an endpoint",
  description: "Delivered and retried like any event, and listed under its deliveries: check that the endpoint answers 2xx and verifies the signature.",
  security: bearer,
  request: { params: z.object({ id: z.string() }) },
  responses: { 202: jsonContent(z.object({ delivery_id: z.string() }), "Queued"), 401: problems[401], 404: problems[404], 409: problems[409] },
});

const router = createRouter();
router.use("*", requireApiKey);
router.use("*", idempotency);

export const webhookRoutes = router
  .openapi(createRouteDef, async (c) => {
    const { url, events } = c.req.valid("json");
    const config = c.get("config");
    try {
      await assertWebhookUrlAllowed(url, { isProduction: config.isProduction, resolve: resolveWithDoh });
    } catch (error) {
      if (error instanceof WebhookUrlError) throw unprocessable(error.message, [{ path: "url", message: error.message }]);
      throw error;
    }
    const db = c.get("db");
    const account = c.get("account");
    const secret = generateWebhookSecret();
    const row: EndpointRow = {
      id: randomId("wh"),
      account,
      url,
      events: events ?? [...webhookEventTypes],
      secretEnc: await sealSecret(config.secretsKey, secret),
      createdAt: Date.now(),
      disabledAt: null,
      disabledReason: null,
    };
    // The cap is the insert's own condition, one statement: concurrent creates cannot all pass a count read before any wrote.
    const inserted = await db
      .insert(webhookEndpoints)
      .select(
        sql`SELECT ${row.id}, ${row.account}, ${row.url}, ${JSON.stringify(row.events)}, ${row.secretEnc}, ${row.createdAt}, NULL, NULL
            WHERE (SELECT ${count()} FROM ${webhookEndpoints} WHERE ${eq(webhookEndpoints.account, account)}) < ${MAX_ENDPOINTS_PER_ACCOUNT}`,
      )
      .returning({ id: webhookEndpoints.id });
    if (inserted.length === 0) throw conflict("too-many-endpoints", `an account may have at most ${MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints; delete one first`);
    c.set("replayBody", JSON.stringify({ ...toEndpoint(row), secret: null, secret_note: SECRET_SHOWN_ONCE }));
    return c.json({ ...toEndpoint(row), secret }, 201);
  })
  .openapi(listRouteDef, async (c) => {
    const rows = await c.get("db").select().from(webhookEndpoints).where(eq(webhookEndpoints.account, c.get("account"))).orderBy(desc(webhookEndpoints.createdAt));
    return c.json({ results: rows.map(toEndpoint) }, 200);
  })
  .openapi(defaultSecretRoute, async (c) => {
    const row = (await c.get("db").select({ sealed: accounts.webhookSecretEnc }).from(accounts).where(eq(accounts.address, c.get("account"))))[0];
    if (!row) throw notFound("account");
    return c.json({ secret: await openSecret(c.get("config").secretsKey, row.sealed) }, 200);
  })
  .openapi(deleteRouteDef, async (c) => {
    const deleted = await c
      .get("db")
      .delete(webhookEndpoints)
      .where(and(eq(webhookEndpoints.id, c.req.valid("param").id), eq(webhookEndpoints.account, c.get("account"))))
      .returning({ id: webhookEndpoints.id });
    if (deleted.length === 0) throw notFound("webhook endpoint");
    return c.body(null, 204);
  })
  .openapi(deliveriesRoute, async (c) => {
    const { id } = c.req.valid("param");
    const db = c.get("db");
    const account = c.get("account");
    if (id !== DEFAULT_ENDPOINT) {
      const owned = await db.select({ id: webhookEndpoints.id }).from(webhookEndpoints).where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.account, account)));
      if (owned.length === 0) throw notFound("webhook endpoint");
    }
    const deliveries = await db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.account, account), id === DEFAULT_ENDPOINT ? isNull(webhookDeliveries.endpointId) : eq(webhookDeliveries.endpointId, id)))
      .orderBy(desc(webhookDeliveries.createdAt))
      .limit(c.req.valid("query").limit);
    const attempts = deliveries.length
      ? await db.select().from(webhookAttempts).where(inArray(webhookAttempts.deliveryId, deliveries.map((d) => d.id))).orderBy(webhookAttempts.id)
      : [];
    return c.json(
      {
        results: deliveries.map((d) => ({
          id: d.id,
          endpoint_id: d.endpointId ?? DEFAULT_ENDPOINT,
          url: d.url,
          event_type: d.eventType,
          job_id: d.jobId,
          state: d.state,
          attempts: attempts
            .filter((a) => a.deliveryId === d.id)
            .map((a) => ({ attempted_at: iso(a.attemptedAt)!, status_code: a.statusCode, latency_ms: a.latencyMs, error: a.error })),
          created_at: iso(d.createdAt)!,
          next_attempt_at: iso(d.nextAttemptAt),
        })),
      },
      200,
    );
  })
  .openapi(replayRoute, async (c) => {
    const { id, delivery_id } = c.req.valid("param");
    const db = c.get("db");
    const delivery = (
      await db
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.id, delivery_id), eq(webhookDeliveries.account, c.get("account"))))
    )[0];
    if (!delivery || (delivery.endpointId ?? DEFAULT_ENDPOINT) !== id) throw notFound("delivery");
    if (delivery.state === "pending" || delivery.state === "retrying") throw conflict("delivery-in-progress", "the delivery is still being attempted");
    // Due now: the sweeper counts a lost message from here, not from the last attempt.
    await db.update(webhookDeliveries).set({ state: "pending", attempts: 0, nextAttemptAt: Date.now() }).where(eq(webhookDeliveries.id, delivery_id));
    await webhookQueue(c.env).send({ deliveryId: delivery_id });
    return c.json({ id: delivery_id, state: "pending" as const }, 202);
  })
  .openapi(testRoute, async (c) => {
    const { id } = c.req.valid("param");
    const endpoint = (await c.get("db").select().from(webhookEndpoints).where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.account, c.get("account")))))[0];
    if (!endpoint) throw notFound("webhook endpoint");
    if (endpoint.disabledAt !== null) throw conflict("endpoint-disabled", `the endpoint is disabled (${endpoint.disabledReason ?? "by its owner"}): register it again to send to it`);
    return c.json({ delivery_id: await dispatchTestEvent(jobContextOf(c), endpoint) }, 202);
  });
