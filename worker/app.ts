// The Hono app: middleware, one sub-app per resource, OpenAPI and docs.
import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import { accountRoutes } from "./api/account.ts";
import { authRoutes } from "./api/auth.ts";
import { benchRoutes } from "./api/bench.ts";
import { jobDataRoutes } from "./api/jobData.ts";
import { jobQuoteRoutes } from "./api/jobQuotes.ts";
import { jobBatchRoutes } from "./api/jobBatch.ts";
import { jobRoutes } from "./api/jobs.ts";
import { jobStreamRoutes } from "./api/jobStreams.ts";
import { networkRoutes } from "./api/network.ts";
import { providerProfileRoutes } from "./api/providerProfiles.ts";
import { providerDataRoutes } from "./api/providerData.ts";
import { providerRoutes } from "./api/providers.ts";
import { signalingRoutes } from "./api/signaling.ts";
import { templateRoutes } from "./api/templates.ts";
import { webhookRoutes } from "./api/webhooks.ts";
import type { AppEnv } from "./http/appEnv.ts";
import { requestContext } from "./http/context.ts";
import { apiCors } from "./http/cors.ts";
import { handleError, handleUnrouted } from "./http/errors.ts";
import { guardJobBodies, limitBody, requireJsonBody } from "./http/requestGuards.ts";
import { pageRoutes } from "./pages/routes.tsx";

const base = new OpenAPIHono<AppEnv>();
base.onError(handleError);
// Read when a request comes: by then every route below is registered.
base.notFound((c) => handleUnrouted(c, base.routes));
base.use("*", requestContext);
// Before the body guards, so a preflight is answered before anything asks for a body.
base.use("/v1/*", apiCors);
base.use("/v1/auth/*", limitBody, requireJsonBody);
base.use("/v1/jobs/*", guardJobBodies);
base.use("/v1/webhooks/*", limitBody, requireJsonBody);
base.use("/v1/templates/*", limitBody, requireJsonBody);

export const app = base
  .route("/v1", accountRoutes)
  .route("/v1/auth", authRoutes)
  .route("/v1/jobs", jobQuoteRoutes)
  .route("/v1/jobs", jobBatchRoutes)
  .route("/v1/jobs", jobRoutes)
  .route("/v1/jobs", jobStreamRoutes)
  .route("/v1/jobs", jobDataRoutes)
  .route("/v1", signalingRoutes)
  .route("/v1/webhooks", webhookRoutes)
  .route("/v1/providers", providerRoutes)
  .route("/v1/providers", providerDataRoutes)
  .route("/v1/templates", templateRoutes)
  .route("/v1/providers", providerProfileRoutes)
  .route("/v1/network", networkRoutes)
  .route("/bench", benchRoutes)
  // The dashboard's pages (their script and stylesheet are static assets, dist/web/).
  .route("/", pageRoutes);

/** The OpenAPI document's fixed part; the SDK's types are generated from the whole (npm run sdk:types). */
export const openApiInfo = {
  openapi: "3.1.0",
  info: { title: "Pond API", version: "1.0.0", description: "Decentralized GPU compute: send container jobs, get signed results." },
} as const;

/** The whole document's fixed part and its server: what /openapi.json serves, and what test/sdk lints. */
export const openApiConfig = (baseUrl: string) => ({ ...openApiInfo, servers: [{ url: baseUrl }] });

app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
  type: "http",
  scheme: "bearer",
  description: "An API key from POST /v1/auth/keys (pond_sk_…)",
});
app.openAPIRegistry.registerComponent("securitySchemes", "signalToken", {
  type: "apiKey",
  in: "query",
  name: "token",
  description: "A single-use token from POST /v1/jobs/{id}/signal-token, for a browser's WebSocket, which cannot send headers",
});
app.doc31("/openapi.json", (c) => openApiConfig(c.get("baseUrl")));
app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Pond API" }));
app.get("/healthz", (c) => c.json({ ok: true }));
