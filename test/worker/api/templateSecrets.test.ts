// A template that names secret variables (a model hub's token): it holds only
// the names; every run brings its own values, which reach the provider that runs
// it as a spec's secrets do, and a run without them is refused saying which.
import { describe, expect, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import type { Template } from "../../../protocol/template.ts";
import { ownProvider } from "../assignedJob.ts";
import { call, post, signIn } from "../client.ts";

type Problem = { status: number; detail: string; errors: Array<{ path: string; message: string }> };

const freshName = () => `s${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}/fetch-model`;
const token = () => `hf_${crypto.randomUUID().replaceAll("-", "")}`;

const fetchTemplate = (name: string, cpus: number, overrides: Record<string, unknown> = {}) => ({
  name,
  version: "1.0.0",
  description: "Downloads a model with the run's own token",
  image: `registry.example/pond/fetch@sha256:${"cd".repeat(32)}`,
  cmd: ["sh", "-c", "echo fetching"],
  secrets: ["HF_TOKEN"],
  resources: { gpus: 0, cpus, memory_mb: 512 },
  timeout_s: 60,
  default_max_price_wei: "1000000000000000000000",
  deterministic: false,
  ...overrides,
});

describe("behavior: a template's secrets", () => {
  it("shows and resolves the names, and sends a run's own values with its start, never returning them", async () => {
    const { key } = await signIn();
    const { provider, cpus } = await ownProvider();
    const name = freshName();
    expect((await post("/v1/templates", fetchTemplate(name, cpus), { key })).status).toBe(201);
    const shown = (await (await call(`/v1/templates/${name}@1.0.0`)).json()) as Template;
    expect(shown.secrets).toEqual(["HF_TOKEN"]);
    // The names are in the spec the creator signs; the resolve step never needs the values.
    const resolved = (await (await post(`/v1/templates/${name}@1.0.0/resolve`, {})).json()) as { spec: Job["spec"] };
    expect(resolved.spec.secrets).toEqual(["HF_TOKEN"]);

    const secret = token();
    const created = await post("/v1/jobs", { template: `${name}@1.0.0`, secret_values: { HF_TOKEN: secret } }, { key });
    const createdText = await created.text();
    expect(created.status).toBe(201);
    expect(createdText).not.toContain(secret);
    const job = JSON.parse(createdText) as Job;
    expect(job.spec.secrets).toEqual(["HF_TOKEN"]);

    const offer = await provider.next("job.offer");
    expect(offer.job_id).toBe(job.id);
    expect(JSON.stringify(offer)).not.toContain(secret);
    await provider.sendAccept(offer);
    expect((await provider.next("job.start")).secrets).toEqual({ HF_TOKEN: secret });
    expect(await (await call(`/v1/jobs/${job.id}`, { key })).text()).not.toContain(secret);
    await provider.close();
  });

  it("refuses a run without a named value, with one it does not name, and a template naming a variable that is also in env", async () => {
    const { key } = await signIn();
    const name = freshName();
    expect((await post("/v1/templates", fetchTemplate(name, 0.5), { key })).status).toBe(201);
    const runs: Array<{ body: Record<string, unknown>; path: string }> = [
      { body: {}, path: "secret_values.HF_TOKEN" },
      { body: { secret_values: { HF_TOKEN: token(), OTHER: "visible-value" } }, path: "secret_values.OTHER" },
      { body: { secret_values: { HF_TOKEN: "abc" } }, path: "secret_values.HF_TOKEN" },
    ];
    for (const { body, path } of runs) {
      const response = await post("/v1/jobs", { template: `${name}@1.0.0`, ...body }, { key });
      expect(response.status, JSON.stringify(body)).toBe(422);
      const problem = (await response.json()) as Problem;
      expect(problem.errors.map((error) => error.path), JSON.stringify(body)).toContain(path);
      expect(problem.detail).not.toContain("visible-value");
    }

    const both = await post("/v1/templates", fetchTemplate(freshName(), 0.5, { env: { HF_TOKEN: "in-the-open" } }), { key });
    expect(both.status).toBe(422);
    expect(((await both.json()) as Problem).errors.map((error) => error.path)).toContain("secrets.0");
  });
});
