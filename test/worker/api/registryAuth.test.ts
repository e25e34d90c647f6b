// A private image's registry credentials through the real Worker, D1 and hub: the user name in the signed spec,
// the password sealed beside the secrets' values, never returned, absent from the offer, and sent with the start
// (again on a reconnect) to the provider that runs the job; refused with a 422 saying what to fix.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { createDb } from "../../../worker/db/client.ts";
import { jobs } from "../../../worker/db/schema.ts";
import { openJobSecrets, sealJobSecrets } from "../../../worker/security/jobSecrets.ts";
import { openSecret, sealSecret } from "../../../worker/security/secretBox.ts";
import { ownProvider, specFor } from "../assignedJob.ts";
import { call, post, signIn, validJob } from "../client.ts";

const db = createDb(env.DB);
const password = () => `ghp_${crypto.randomUUID().replaceAll("-", "")}`;
const IMAGE = "registry.example.com/team/trainer@sha256:" + "ab".repeat(32);

describe("behavior: registry credentials for a private image", () => {
  it("keeps the password sealed, never returns it, and sends it with the start alone (and again on a re-advertise), beside the secrets' values", async () => {
    const { key } = await signIn();
    const { provider, cpus } = await ownProvider();
    const secret = password();
    const hubToken = `hf_${crypto.randomUUID()}`;
    const body = { ...specFor(cpus), image: IMAGE, registry_auth: { username: "ci-bot" }, registry_password: secret, secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: hubToken } };
    const created = await post("/v1/jobs", body, { key });
    const createdText = await created.text();
    expect(created.status).toBe(201);
    expect(createdText).not.toContain(secret);
    const job = JSON.parse(createdText) as Job;
    expect(job.spec.registry_auth).toEqual({ username: "ci-bot" });

    const [row] = await db.select({ sealed: jobs.sealedSecrets }).from(jobs).where(eq(jobs.id, job.id));
    expect(row?.sealed).toMatch(/^v1\./);
    expect(row?.sealed).not.toContain(secret);

    const offer = await provider.next("job.offer");
    expect(offer.job_id).toBe(job.id);
    expect(JSON.stringify(offer)).not.toContain(secret);
    expect(offer.spec.registry_auth).toEqual({ username: "ci-bot" });

    await provider.sendAccept(offer);
    const start = await provider.next("job.start");
    expect(start.registry_password).toBe(secret);
    expect(start.secrets).toEqual({ HF_TOKEN: hubToken });

    provider.send({ v: HUB_PROTOCOL_VERSION, type: "advertise", resources: { cpus, memory_mb: 32_768, disk_free_mb: 100_000, gpus: [] }, pricing: { gpu_second_wei: "1000", cpu_second_wei: "100000000000000" }, running: [job.id] });
    const again = await provider.next("job.start");
    expect(again.registry_password).toBe(secret);

    for (const path of [`/v1/jobs/${job.id}`, "/v1/jobs?limit=100", `/v1/jobs/${job.id}/transitions`]) {
      const response = await call(path, { key });
      expect(response.status).toBe(200);
      expect(await response.text()).not.toContain(secret);
    }
    await provider.close();
  });

  it("refuses a user without a password, a password without a user, a user name with a colon, and a password too short or with a control character, with a 422 naming the field", async () => {
    const { key } = await signIn();
    const cases: Array<{ body: Record<string, unknown>; path: string }> = [
      { body: { registry_auth: { username: "ci-bot" } }, path: "registry_password" },
      { body: { registry_password: password() }, path: "registry_password" },
      { body: { registry_auth: { username: "ci:bot" }, registry_password: password() }, path: "registry_auth.username" },
      { body: { registry_auth: { username: "" }, registry_password: password() }, path: "registry_auth.username" },
      { body: { registry_auth: { username: "ci-bot", token: "x" }, registry_password: password() }, path: "registry_auth" },
      { body: { registry_auth: { username: "ci-bot" }, registry_password: "abc" }, path: "registry_password" },
      { body: { registry_auth: { username: "ci-bot" }, registry_password: "line\nbreak" }, path: "registry_password" },
    ];
    for (const { body, path } of cases) {
      const response = await post("/v1/jobs", { ...validJob(), ...body }, { key });
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      const problem = (await response.json()) as { detail: string; errors: Array<{ path: string }> };
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(problem.errors.map((error) => error.path).join(" "), JSON.stringify(body)).toContain(path);
      expect(problem.detail).not.toContain("ghp_");
    }
    // A template pins an image any runner can pull: a template run takes no registry password.
    const templateRun = await post("/v1/jobs", { template: "pond/echo@1.0.0", registry_password: password() }, { key });
    expect(templateRun.status).toBe(422);
  });

  it("opens a job sealed before registry passwords (its secrets' values alone) as it opened then, and still seals such a job that way", async () => {
    // A binding of vitest.config.mts's (a deployment sets it as a secret), so the generated Env does not declare it.
    const keyB64 = (env as unknown as { SECRETS_KEY: string }).SECRETS_KEY;
    const legacy = await sealSecret(keyB64, JSON.stringify({ HF_TOKEN: "hf_legacy", registry_password: "a variable so named" }));
    expect(await openJobSecrets(keyB64, legacy)).toEqual({ secrets: { HF_TOKEN: "hf_legacy", registry_password: "a variable so named" } });
    expect(await openJobSecrets(keyB64, await sealJobSecrets(keyB64, { registry_password: "token-1" }))).toEqual({ registry_password: "token-1" });
    expect(await sealJobSecrets(keyB64, {})).toBeNull();
    // Without a registry password, sealed as before it (a Worker rolled back still opens it).
    const secretsOnly = await sealJobSecrets(keyB64, { secrets: { HF_TOKEN: "hf_only" } });
    expect(JSON.parse(await openSecret(keyB64, secretsOnly!))).toEqual({ HF_TOKEN: "hf_only" });
    expect(await openJobSecrets(keyB64, secretsOnly)).toEqual({ secrets: { HF_TOKEN: "hf_only" } });
    expect(await openJobSecrets(keyB64, null)).toEqual({});
  });
});
