// A path the API serves, asked with a method it does not serve, answers 405 with
// the methods it does serve (RFC 9110 §15.5.6), read from the app's own routes.
import { describe, expect, it } from "vitest";
import { call, signIn } from "../client.ts";

async function refused(path: string, method: string, key?: string) {
  const response = await call(path, { method, ...(key ? { key } : {}) });
  return { status: response.status, allow: response.headers.get("allow"), type: response.headers.get("content-type"), body: (await response.json()) as Record<string, unknown> };
}

describe("a method the path does not serve", () => {
  it("answers 405 with Allow and a problem saying which methods to use", async () => {
    const answer = await refused("/v1/jobs", "DELETE");
    expect(answer.status).toBe(405);
    expect(answer.allow).toBe("GET, HEAD, POST");
    expect(answer.type).toBe("application/problem+json");
    expect(answer.body).toMatchObject({ status: 405, title: "Method not allowed", type: "https://pond.dev/problems/method-not-allowed", instance: "/v1/jobs" });
    expect(answer.body.detail).toBe("DELETE is not allowed on /v1/jobs: use GET, HEAD or POST");
  });

  it("lists what each path serves, parameters and nested paths included", async () => {
    expect(await refused("/v1/jobs/job_x/cancel", "GET")).toMatchObject({ status: 405, allow: "POST" });
    expect(await refused("/v1/jobs/job_x", "PUT")).toMatchObject({ status: 405, allow: "GET, HEAD" });
    expect(await refused("/v1/auth/nonce", "GET")).toMatchObject({ status: 405, allow: "POST" });
    expect(await refused("/v1/auth/keys/key_x", "GET")).toMatchObject({ status: 405, allow: "DELETE" });
    // /v1/webhooks/* asks for the key first, whatever the method.
    expect(await refused("/v1/webhooks/wh_x", "PATCH", (await signIn()).key)).toMatchObject({ status: 405, allow: "DELETE" });
    expect(await refused("/v1/jobs/job_x/outputs/a/b/c.txt", "POST")).toMatchObject({ status: 405, allow: "GET, HEAD" });
    expect(await refused(`/v1/jobs/job_x/data/chunks/${"a".repeat(64)}`, "GET")).toMatchObject({ status: 405, allow: "PUT" });
    expect(await refused("/healthz", "POST")).toMatchObject({ status: 405, allow: "GET, HEAD" });
  });

  it("still answers 404 for a path nothing serves", async () => {
    for (const method of ["GET", "POST", "DELETE"]) {
      const answer = await refused("/v1/nothing-here", method);
      expect(answer.status).toBe(404);
      expect(answer.allow).toBeNull();
      expect(answer.type).toBe("application/problem+json");
    }
  });
});
