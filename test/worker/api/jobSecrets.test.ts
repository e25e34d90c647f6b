// A job's secret variables through the real Worker, D1 and hub: sealed at rest,
// never returned, absent from the offer, and sent with the start to the provider
// that runs the job (again when it reconnects); refused with a 422 saying what to fix.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import { jobLimits } from "../../../protocol/limits.ts";
import type { Job } from "../../../protocol/job.ts";
import { createDb } from "../../../worker/db/client.ts";
import { jobs } from "../../../worker/db/schema.ts";
import { eventually } from "../../helpers/eventually.ts";
import { ownProvider, specFor } from "../assignedJob.ts";
import { call, post, signIn, validJob } from "../client.ts";

const db = createDb(env.DB);
const token = () => `hf_${crypto.randomUUID().replaceAll("-", "")}`;

async function problemOf(response: Response): Promise<{ status: number; detail: string; errors: Array<{ path: string }> }> {
  expect(response.headers.get("content-type")).toContain("application/problem+json");
  return { status: response.status, ...((await response.json()) as { detail: string; errors: Array<{ path: string }> }) };
}

describe("behavior: job secrets", () => {
  it("keeps the values sealed, never returns them, and sends them with the start alone (and again on a re-advertise)", async () => {
    const { key } = await signIn();
    const { provider, cpus } = await ownProvider();
    const secret = token();
    const created = await post("/v1/jobs", { ...specFor(cpus), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: secret } }, { key });
    const createdText = await created.text();
    expect(created.status).toBe(201);
    expect(createdText).not.toContain(secret);
    const job = JSON.parse(createdText) as Job;
    expect(job.spec.secrets).toEqual(["HF_TOKEN"]);

    const [row] = await db.select({ sealed: jobs.sealedSecrets }).from(jobs).where(eq(jobs.id, job.id));
    expect(row?.sealed).toMatch(/^v1\./);
    expect(row?.sealed).not.toContain(secret);
    expect(row?.sealed).not.toContain(btoa(secret).slice(0, 16));

    const offer = await provider.next("job.offer");
    expect(offer.job_id).toBe(job.id);
    expect(JSON.stringify(offer)).not.toContain(secret);
    expect(offer.spec.secrets).toEqual(["HF_TOKEN"]);

    await provider.sendAccept(offer);
    const start = await provider.next("job.start");
    expect(start.secrets).toEqual({ HF_TOKEN: secret });

    // A provider that reconnects and reports the job still starting gets its start again, with the values.
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "advertise", resources: { cpus, memory_mb: 32_768, disk_free_mb: 100_000, gpus: [] }, pricing: { gpu_second_wei: "1000", cpu_second_wei: "100000000000000" }, running: [job.id] });
    const again = await provider.next("job.start");
    expect(again.secrets).toEqual({ HF_TOKEN: secret });

    for (const path of [`/v1/jobs/${job.id}`, "/v1/jobs?limit=100", `/v1/jobs/${job.id}/transitions`]) {
      const response = await call(path, { key });
      expect(response.status).toBe(200);
      expect(await response.text()).not.toContain(secret);
    }
    await provider.close();
  });

  it("takes a job at the limits (16 secrets of 4 KiB each) and sends every value whole with its start", async () => {
    const { key } = await signIn();
    const { provider, cpus } = await ownProvider();
    const values = Object.fromEntries(Array.from({ length: jobLimits.maxSecrets }, (_, i) => [`SECRET_${i}`, `${i}`.padEnd(jobLimits.maxSecretBytes, "v")]));
    const created = await post("/v1/jobs", { ...specFor(cpus), secrets: Object.keys(values), secret_values: values }, { key });
    expect(created.status).toBe(201);
    const offer = await provider.next("job.offer");
    await provider.sendAccept(offer);
    expect((await provider.next("job.start")).secrets).toEqual(values);
    await provider.close();
  });

  it("refuses values that do not match the names, a name also in env, a value too short, too long or with a control character, and too many names, with a 422 naming each", async () => {
    const { key } = await signIn();
    const cases: Array<{ body: Record<string, unknown>; path: string }> = [
      { body: { secrets: ["HF_TOKEN"] }, path: "secret_values.HF_TOKEN" },
      { body: { secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: "xxxx", OTHER: "yyyy" } }, path: "secret_values.OTHER" },
      { body: { secret_values: { HF_TOKEN: "xxxx" } }, path: "secret_values.HF_TOKEN" },
      { body: { env: { HF_TOKEN: "visible" }, secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: "xxxx" } }, path: "env.HF_TOKEN" },
      { body: { secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: "x".repeat(4097) } }, path: "secret_values.HF_TOKEN" },
      { body: { secrets: ["NVIDIA_VISIBLE_DEVICES"], secret_values: { NVIDIA_VISIBLE_DEVICES: "all" } }, path: "secrets.0" },
      { body: { secrets: ["A", "A"], secret_values: { A: "xxxx" } }, path: "secrets" },
      { body: { secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: "abc" } }, path: "secret_values.HF_TOKEN" },
      { body: { secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: "line\nbreak" } }, path: "secret_values.HF_TOKEN" },
      { body: { secrets: Array.from({ length: 17 }, (_, i) => `S${i}`), secret_values: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`S${i}`, "xxxx"])) }, path: "secrets" },
    ];
    for (const { body, path } of cases) {
      const problem = await problemOf(await post("/v1/jobs", { ...validJob(), ...body }, { key }));
      expect(problem.status, JSON.stringify(body).slice(0, 120)).toBe(422);
      expect(problem.errors.map((error) => error.path), JSON.stringify(body).slice(0, 120)).toContain(path);
      // A value is never echoed back, even in a refusal.
      expect(problem.detail).not.toContain("visible");
    }
  });

  it("fails a job whose sealed values cannot be opened at its start, saying why, and frees the provider", async () => {
    const { key } = await signIn();
    const { provider, cpus } = await ownProvider();
    // Created while its provider is busy with nothing it could take: the test changes its sealed values before the offer.
    const response = await post("/v1/jobs", { ...specFor(cpus), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: token() } }, { key });
    const job = (await response.json()) as Job;
    await db.update(jobs).set({ sealedSecrets: "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAA" }).where(eq(jobs.id, job.id));
    const offer = await provider.next("job.offer");
    await provider.sendAccept(offer);
    const cancel = await provider.next("job.cancel");
    expect(cancel.job_id).toBe(job.id);
    expect(cancel.reason).toContain("secrets could not be opened");
    const failed = await eventually(async () => {
      const current = (await (await call(`/v1/jobs/${job.id}`, { key })).json()) as Job;
      return current.status === "failed" && current;
    }, { what: "the job to fail" });
    expect(failed.error).toContain("secrets could not be opened");
    expect(await provider.receives("job.start", 200)).toBe(false);
    // Its capacity is free again: the next job of its size is offered to it.
    const next = (await (await post("/v1/jobs", specFor(cpus), { key })).json()) as Job;
    expect((await provider.next("job.offer")).job_id).toBe(next.id);
    await provider.close();
  });
});
