// A web app on another origin calls the API from a browser: preflights are
// answered, and the headers clients read are exposed. No credentials: the API
// honours none that a browser would attach on its own.
import { describe, expect, it } from "vitest";
import { allowedOrigin } from "../../../worker/http/cors.ts";
import { call, post, signIn, validJob } from "../client.ts";

const APP = "https://app.example";
const exposed = (response: Response) => (response.headers.get("access-control-expose-headers") ?? "").split(",").map((name) => name.trim().toLowerCase());

describe("CORS on the API", () => {
  it("answers a preflight from another origin for a bearer route", async () => {
    const response = await call("/v1/jobs", {
      method: "OPTIONS",
      headers: { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, idempotency-key, prefer" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-methods")?.split(",")).toEqual(expect.arrayContaining(["GET", "POST", "PUT", "DELETE"]));
    const allowedHeaders = response.headers.get("access-control-allow-headers")!.split(",");
    expect(allowedHeaders).toEqual(expect.arrayContaining(["authorization", "content-type", "idempotency-key", "prefer", "range", "if-none-match", "last-event-id"]));
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
    expect(Number(response.headers.get("access-control-max-age"))).toBeGreaterThan(0);
  });

  it("exposes the headers clients need on a real response", async () => {
    const { key } = await signIn();
    const headers = { origin: APP, "idempotency-key": `cors-${crypto.randomUUID()}` };
    await post("/v1/jobs", validJob(), { key, headers });
    const replay = await post("/v1/jobs", validJob(), { key, headers });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.headers.get("access-control-allow-origin")).toBe("*");
    expect(exposed(replay)).toEqual(expect.arrayContaining(["idempotent-replayed", "preference-applied", "retry-after", "location", "etag", "content-range", "accept-ranges"]));
  });

  it("answers CORS on errors too, so a browser can read the problem", async () => {
    const response = await call("/v1/jobs", { headers: { origin: APP } });
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(exposed(response)).toContain("retry-after");
  });

  it("answers CORS for sign-in, which a web app needs before it has a key", async () => {
    const response = await call("/v1/auth/nonce", { method: "OPTIONS", headers: { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("leaves the dashboard's pages alone: they are same-origin", async () => {
    const response = await call("/jobs", { headers: { origin: APP } });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("allowedOrigin", () => {
  it("allows any origin with *, and only the listed ones otherwise", () => {
    expect(allowedOrigin("*", APP)).toBe("*");
    expect(allowedOrigin([APP, "http://localhost:5173"], APP)).toBe(APP);
    expect(allowedOrigin([APP], "https://evil.example")).toBeNull();
    expect(allowedOrigin([APP], "")).toBeNull();
  });
});
