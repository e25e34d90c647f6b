import { describe, expect, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import { call, post, signIn, validJob } from "../client.ts";

type Problem = { type: string; title: string; status: number; detail: string; errors?: Array<{ path: string; message: string }> };

async function createJob(key: string, overrides: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return post("/v1/jobs", { ...validJob(), ...overrides }, { key, headers });
}

describe("POST /v1/jobs", () => {
  it("creates a queued job with links", async () => {
    const { key } = await signIn();
    const response = await createJob(key);
    expect(response.status).toBe(201);
    const job = (await response.json()) as Job;
    expect(job.status).toBe("queued");
    expect(job.id).toMatch(/^job_/);
    expect(job.spec.image).toBe("ghcr.io/pond/example:1.0");
    expect(job.urls.get).toBe(`https://pond.test/v1/jobs/${job.id}`);
    expect(response.headers.get("location")).toBe(job.urls.get);
    expect(job.webhook_events_filter).toContain("job.succeeded");
  });

  it("answers 400 to malformed JSON", async () => {
    const { key } = await signIn();
    const response = await post("/v1/jobs", "{not json", { key });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await response.json()) as Problem;
    expect(problem).toMatchObject({ status: 400, title: "Bad request" });
    expect(problem.type).toMatch(/^https:\/\//);
  });

  it("answers 415 to a body that is not JSON", async () => {
    const { key } = await signIn();
    const response = await call("/v1/jobs", { method: "POST", key, body: "image=x", headers: { "content-type": "text/plain" } });
    expect(response.status).toBe(415);
  });

  it("answers 413 to a body over 1 MiB", async () => {
    const { key } = await signIn();
    const response = await post("/v1/jobs", { ...validJob(), env: { BIG: "x".repeat(1024 * 1024 + 10) } }, { key });
    expect(response.status).toBe(413);
    expect(((await response.json()) as Problem).detail).toContain("1048576");
  });

  it("names every failing field in one 422", async () => {
    const { key } = await signIn();
    const response = await createJob(key, {
      image: "UPPER/Case:tag",
      resources: { gpus: -1, cpus: 0, memory_mb: 1 },
      timeout_s: 0,
      max_price_wei: "1.5",
      env: { "1BAD": "x" },
      unexpected: true,
    });
    expect(response.status).toBe(422);
    const problem = (await response.json()) as Problem;
    const paths = problem.errors!.map((e) => e.path);
    for (const field of ["image", "resources.gpus", "resources.cpus", "resources.memory_mb", "timeout_s", "max_price_wei", "env.1BAD"]) {
      expect(paths).toContain(field);
    }
    expect(problem.errors!.some((e) => e.message.includes("unexpected"))).toBe(true);
  });

  it.each([
    ["image missing", { image: undefined }, "image"],
    ["image with a space", { image: "ubuntu latest" }, "image"],
    ["image with a bad digest", { image: "ubuntu@sha256:xyz" }, "image"],
    ["too many GPUs", { resources: { gpus: 17, cpus: 1, memory_mb: 1024 } }, "resources.gpus"],
    ["fractional GPUs", { resources: { gpus: 0.5, cpus: 1, memory_mb: 1024 } }, "resources.gpus"],
    ["VRAM without GPUs", { resources: { gpus: 0, gpu_vram_mb: 1000, cpus: 1, memory_mb: 1024 } }, "resources.gpus"],
    ["too much memory", { resources: { gpus: 0, cpus: 1, memory_mb: 9_999_999 } }, "resources.memory_mb"],
    ["timeout over a day", { timeout_s: 86_401 }, "timeout_s"],
    ["negative price", { max_price_wei: "-1" }, "max_price_wei"],
    ["price over uint256", { max_price_wei: "9".repeat(79) }, "max_price_wei"],
    ["price as a number", { max_price_wei: 1000 }, "max_price_wei"],
    ["env too large", { env: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`V${i}`, "x".repeat(1000)])) }, "env"],
    ["too many env vars", { env: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`V${i}`, "x"])) }, "env"],
    ["input path escaping", { inputs: [{ path: "../etc/passwd", data_base64: "aGk=" }] }, "inputs.0.path"],
    ["input not base64", { inputs: [{ path: "a.txt", data_base64: "not base64!" }] }, "inputs.0.data_base64"],
    ["empty cmd", { cmd: [] }, "cmd"],
    ["webhook not a URL", { webhook: "nope" }, "webhook"],
    ["unknown webhook event", { webhook_events_filter: ["job.exploded"] }, "webhook_events_filter.0"],
    ["an egress rule that is an address", { network: { allow: ["169.254.169.254"] } }, "network.allow.0"],
    ["an egress rule with a scheme", { network: { allow: ["https://huggingface.co"] } }, "network.allow.0"],
    ["an empty allowlist", { network: { allow: [] } }, "network.allow"],
    ["network with another key", { network: { allow: ["huggingface.co"], mode: "host" } }, "network"],
  ])("answers 422 for %s", async (_name, overrides, path) => {
    const { key } = await signIn();
    const response = await createJob(key, overrides);
    expect(response.status).toBe(422);
    const problem = (await response.json()) as Problem;
    expect(problem.errors!.map((e) => e.path)).toContain(path);
  });

  it("takes a network allowlist as part of the spec", async () => {
    const { key } = await signIn();
    const response = await createJob(key, { network: { allow: ["huggingface.co", "*.hf.co", "files.example.org:8443"] } });
    expect(response.status).toBe(201);
    const job = (await response.json()) as Job;
    expect(job.spec.network).toEqual({ allow: ["huggingface.co", "*.hf.co", "files.example.org:8443"] });
    expect(job.metrics.egress).toBeNull();
  });

  it("names what is wrong with an egress rule", async () => {
    const { key } = await signIn();
    const response = await createJob(key, { network: { allow: ["10.0.0.1:80"] } });
    expect(response.status).toBe(422);
    const problem = (await response.json()) as Problem;
    expect(problem.errors).toContainEqual({ path: "network.allow.0", message: expect.stringMatching(/not an IP address/) });
  });

  it("accepts image references the docker CLI accepts", async () => {
    const { key } = await signIn();
    for (const image of ["busybox", "library/busybox:1.36", "localhost:5000/team/model", "ghcr.io/a/b@sha256:" + "a".repeat(64), "registry.example.com:443/a-b/c_d.e:v1.2-rc"]) {
      const response = await createJob(key, { image });
      expect(response.status, image).toBe(201);
    }
  });
});

describe("reading jobs", () => {
  it("gets one's own job and not another's", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const job = (await (await createJob(alice.key)).json()) as Job;
    expect((await call(`/v1/jobs/${job.id}`, { key: alice.key })).status).toBe(200);
    const other = await call(`/v1/jobs/${job.id}`, { key: bob.key });
    expect(other.status).toBe(404);
    expect((await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key: bob.key })).status).toBe(404);
    expect((await call(`/v1/jobs/${job.id}/transitions`, { key: bob.key })).status).toBe(404);
    const bobsList = (await (await call("/v1/jobs", { key: bob.key })).json()) as { results: Job[] };
    expect(bobsList.results).toHaveLength(0);
  });

  it("answers 404 for a job that does not exist", async () => {
    const { key } = await signIn();
    const response = await call("/v1/jobs/job_nope", { key });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("POST /v1/jobs/:id/cancel", () => {
  it("cancels a queued job, records the transition, and refuses a second cancel with 409", async () => {
    const { key } = await signIn();
    const job = (await (await createJob(key)).json()) as Job;
    const canceled = await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });
    expect(canceled.status).toBe(200);
    const body = (await canceled.json()) as Job;
    expect(body.status).toBe("canceled");
    expect(body.status_detail).toBe("canceled by its creator");
    expect(body.completed_at).not.toBeNull();

    const again = await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });
    expect(again.status).toBe(409);
    expect(((await again.json()) as Problem).detail).toMatch(/already canceled/);

    const transitions = (await (await call(`/v1/jobs/${job.id}/transitions`, { key })).json()) as { results: Array<{ from: string | null; to: string }> };
    expect(transitions.results.map((t) => [t.from, t.to])).toEqual([
      [null, "queued"],
      ["queued", "canceled"],
    ]);
  });
});

describe("POST /v1/jobs/:id/cancel with an empty body", () => {
  it("cancels as without a body, whatever content type an empty body is sent with", async () => {
    const { key } = await signIn();
    const sent: Record<string, string>[] = [
      { "content-type": "application/json" },
      { "content-type": "application/x-www-form-urlencoded" },
      // The idempotency check reads the body first (found by test/e2e/faults/apiFuzz.test.ts, seed 858931869: a 500).
      { "content-type": "application/json", "idempotency-key": `cancel-${crypto.randomUUID()}` },
    ];
    for (const headers of sent) {
      const type = JSON.stringify(headers);
      const job = (await (await createJob(key)).json()) as Job;
      const canceled = await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key, body: "", headers });
      expect(canceled.status, `${type}: ${await canceled.clone().text()}`).toBe(200);
      expect(((await canceled.json()) as Job).status_detail).toBe("canceled by its creator");
    }
    // With a reason after the idempotency check, too.
    const job = (await (await createJob(key)).json()) as Job;
    const reasoned = await post(`/v1/jobs/${job.id}/cancel`, { reason: "wrong data" }, { key, headers: { "idempotency-key": `cancel-${crypto.randomUUID()}` } });
    expect(reasoned.status).toBe(200);
    expect(((await reasoned.json()) as Job).status_detail).toBe("canceled by its creator: wrong data");
  });
});

describe("POST /v1/jobs/:id/cancel with a reason", () => {
  it("keeps the reason in the job's status_detail, and refuses one a terminal would act on, or a field it does not know, with 422", async () => {
    const { key } = await signIn();
    const job = (await (await createJob(key)).json()) as Job;
    for (const body of [{ reason: "stopped \u001b[2Jearly" }, { reason: "" }, { reason: "x".repeat(201) }, { why: "no" }]) {
      const refused = await post(`/v1/jobs/${job.id}/cancel`, body, { key });
      expect(refused.status, JSON.stringify(body)).toBe(422);
      expect(refused.headers.get("content-type")).toBe("application/problem+json");
    }
    expect(((await (await call(`/v1/jobs/${job.id}`, { key })).json()) as Job).status).toBe("queued");

    const canceled = await post(`/v1/jobs/${job.id}/cancel`, { reason: "stopped early at step 7" }, { key });
    expect(canceled.status).toBe(200);
    expect(((await canceled.json()) as Job).status_detail).toBe("canceled by its creator: stopped early at step 7");
    const transitions = (await (await call(`/v1/jobs/${job.id}/transitions`, { key })).json()) as { results: Array<{ to: string; detail: string | null }> };
    expect(transitions.results.at(-1)).toMatchObject({ to: "canceled", detail: "canceled by its creator: stopped early at step 7" });
  });
});

describe("Prefer: wait", () => {
  it("holds the response until the job finishes", async () => {
    const { key } = await signIn();
    // Nobody will run it, so the only way it finishes is a cancel while we wait.
    const creating = post("/v1/jobs", validJob(), { key, headers: { prefer: "wait=20" } });
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      const list = (await (await call("/v1/jobs", { key })).json()) as { results: Job[] };
      id = list.results[0]?.id;
      if (!id) await new Promise((r) => setTimeout(r, 20));
    }
    expect(id).toBeDefined();
    await call(`/v1/jobs/${id}/cancel`, { method: "POST", key });
    const response = await creating;
    expect(response.status).toBe(201);
    expect(response.headers.get("preference-applied")).toBe("wait=20");
    expect(((await response.json()) as Job).status).toBe("canceled");
  });

  it("answers with the job as it stands when the wait runs out", async () => {
    const { key } = await signIn();
    const response = await post("/v1/jobs", validJob(), { key, headers: { prefer: "wait=1" } });
    expect(response.status).toBe(201);
    expect(((await response.json()) as Job).status).toBe("queued");
  });
});
