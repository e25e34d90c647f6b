// Every route in the OpenAPI document that declares bearer security refuses a
// request without a key — so a new route cannot forget its authentication.
import { describe, expect, it } from "vitest";
import { call } from "../client.ts";

interface OpenApi {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

describe("authentication", () => {
  it("is required by every route that says so, before anything else is looked at", async () => {
    const doc = (await (await call("/openapi.json")).json()) as OpenApi;
    const secured = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => operation.security?.length)
        .map(([method, operation]) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, "x"), operation })),
    );
    expect(secured.length).toBeGreaterThanOrEqual(15);
    for (const route of secured) {
      const response = await call(route.path, {
        method: route.method,
        ...(route.method === "GET" || route.method === "DELETE" ? {} : { body: "{}", headers: { "content-type": "application/json" } }),
      });
      expect(response.status, `${route.method} ${route.path}`).toBe(401);
    }
  });

  it("leaves sign-in, docs and health open", async () => {
    expect((await call("/v1/auth/nonce", { method: "POST" })).status).toBe(200);
    expect((await call("/openapi.json")).status).toBe(200);
    expect((await call("/docs")).status).toBe(200);
    expect((await call("/healthz")).status).toBe(200);
  });
});
