// The dashboard's page shells: what each says to the browser code, the headers
// that lock the page down, and that nothing rendered is taken as markup.
import { describe, expect, it } from "vitest";
import { Layout } from "../../../worker/pages/layout.tsx";
import { call } from "../client.ts";

async function shell(path: string) {
  const response = await call(path, { headers: { accept: "text/html" } });
  return { response, html: await response.text() };
}

describe("dashboard pages", () => {
  it("serves the network page with a policy allowing only this origin's script and style", async () => {
    const { response, html } = await shell("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const policy = response.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("style-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain("unsafe-inline");
    expect(html).toContain('data-page="network"');
    // Every script is a file of this origin: none inline, no handler attributes.
    expect(html.match(/<script[^>]*>/g)).toEqual(['<script type="module" src="/assets/dashboard.js">']);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it("names the provider (lower-cased) for the provider page, and answers a malformed address with a 404 page", async () => {
    const address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const { html } = await shell(`/providers/${address}`);
    expect(html).toContain(`data-address="${address.toLowerCase()}"`);
    const bad = await shell("/providers/not-an-address");
    expect(bad.response.status).toBe(404);
    expect(bad.html).toContain('data-page="not-found"');
    expect(bad.response.headers.get("content-security-policy")).toContain("script-src 'self'");
  });

  it("passes the job id to the job page, and refuses one that cannot be a job id", async () => {
    const { html } = await shell("/jobs/job_abc123");
    expect(html).toContain('data-job-id="job_abc123"');
    const bad = await shell(`/jobs/${encodeURIComponent('"><script>alert(1)</script>')}`);
    expect(bad.response.status).toBe(404);
    expect(bad.html).not.toContain("<script>alert");
  });

  it("escapes what it renders", () => {
    const html = String(Layout({ page: "not-found", title: "<b>title</b>", message: '<img src=x onerror="alert(1)">' }));
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>title");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });

  it("leaves the API's routes and its 404s as they were", async () => {
    const api = await call("/v1/nothing-here");
    expect(api.status).toBe(404);
    expect(api.headers.get("content-type")).toContain("application/problem+json");
    expect((await call("/healthz")).headers.get("content-security-policy")).toBeNull();
  });
});
