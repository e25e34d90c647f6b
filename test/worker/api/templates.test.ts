// Templates through the real Worker in workerd: publish, browse, resolve, and
// run one as a job; a published version never changes and a namespace has one owner.
import { describe, expect, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import type { Template } from "../../../protocol/template.ts";
import { call, post, signIn } from "../client.ts";

type Problem = { type: string; status: number; detail: string; errors?: Array<{ path: string; message: string }> };

const DIGEST = `sha256:${"ab".repeat(32)}`;
/** Random, so no namespace is a substring of another (searches match substrings). */
const freshNamespace = () => `t${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;

const echoTemplate = (name: string, version = "1.0.0", overrides: Record<string, unknown> = {}) => ({
  name,
  version,
  description: "Prints a message, a number of times",
  image: `registry.example/pond/echo@${DIGEST}`,
  cmd: ["sh", "-c", "for i in $(seq {{times}}); do echo \"$1\"; done", "echo", "{{message}}"],
  env: { GREETING: "{{message}}" },
  params: {
    type: "object",
    properties: {
      message: { type: "string", description: "What to print", maxLength: 100 },
      times: { type: "integer", minimum: 1, maximum: 10, default: 1 },
    },
    required: ["message"],
  },
  resources: { gpus: 0, cpus: 0.5, memory_mb: 128 },
  timeout_s: 60,
  default_max_price_wei: "1000000000000000",
  deterministic: true,
  ...overrides,
});

async function publish(key: string, body: unknown) {
  return post("/v1/templates", body, { key });
}

describe("POST /v1/templates", () => {
  it("publishes a version, readable by anyone, and refuses to publish it again", async () => {
    const { key, account } = await signIn();
    const name = `${freshNamespace()}/echo`;
    const created = await publish(key, echoTemplate(name));
    expect(created.status).toBe(201);
    const template = (await created.json()) as Template;
    expect(template).toMatchObject({ ref: `${name}@1.0.0`, owner: account.address.toLowerCase(), deterministic: true });

    const again = await publish(key, echoTemplate(name, "1.0.0", { description: "something else" }));
    expect(again.status).toBe(409);
    expect(((await again.json()) as Problem).type).toMatch(/template-version-exists$/);
    const read = await call(`/v1/templates/${name}@1.0.0`);
    expect(((await read.json()) as Template).description).toBe("Prints a message, a number of times");
  });

  it("keeps a namespace to the account that first published in it", async () => {
    const first = await signIn();
    const second = await signIn();
    const namespace = freshNamespace();
    expect((await publish(first.key, echoTemplate(`${namespace}/echo`))).status).toBe(201);
    const taken = await publish(second.key, echoTemplate(`${namespace}/other`));
    expect(taken.status).toBe(403);
    expect(((await taken.json()) as Problem).detail).toMatch(/belongs to another account/);
    expect((await publish(second.key, echoTemplate(`${freshNamespace()}/other`))).status).toBe(201);
  });

  it("lets only one of two accounts racing for a new namespace have it", async () => {
    const racers = await Promise.all([signIn(), signIn(), signIn(), signIn()]);
    const namespace = freshNamespace();
    const answers = await Promise.all(racers.map((racer, i) => publish(racer.key, echoTemplate(`${namespace}/t${i}`))));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 403, 403, 403]);
  });

  it.each([
    ["an image not pinned by digest", { image: "registry.example/pond/echo:1.0" }, "image"],
    ["a placeholder with no parameter", { cmd: ["echo", "{{nope}}"] }, "cmd.1"],
    ["a required parameter never declared", { params: { type: "object", properties: {}, required: ["x"] } }, "params.required"],
    ["a parameter pattern that is no regex", { params: { type: "object", properties: { x: { type: "string", pattern: "(" } } } }, "params.properties.x.pattern"],
    ["a version that is not semver", { version: "v1" }, "version"],
  ])("answers 422 naming the field for %s", async (_what, overrides, path) => {
    const { key } = await signIn();
    const response = await publish(key, echoTemplate(`${freshNamespace()}/echo`, "1.0.0", overrides));
    expect(response.status).toBe(422);
    expect(((await response.json()) as Problem).errors!.map((e) => e.path)).toContain(path);
  });

  it("requires an API key", async () => {
    expect((await post("/v1/templates", echoTemplate(`${freshNamespace()}/echo`))).status).toBe(401);
  });
});

describe("GET /v1/templates", () => {
  it("finds a template by search, pages through versions, and resolves latest to the newest release", async () => {
    const { key } = await signIn();
    const name = `${freshNamespace()}/echo`;
    for (const version of ["1.0.0", "1.10.0", "1.2.0", "2.0.0-rc.1"]) expect((await publish(key, echoTemplate(name, version))).status).toBe(201);

    const page = (await (await call(`/v1/templates?name=${encodeURIComponent(name)}&limit=3`)).json()) as { results: Template[]; next: string | null };
    expect(page.results.map((t) => t.version)).toEqual(["2.0.0-rc.1", "1.2.0", "1.10.0"]);
    const rest = (await (await call(new URL(page.next!).pathname + new URL(page.next!).search)).json()) as { results: Template[] };
    expect(rest.results.map((t) => t.version)).toEqual(["1.0.0"]);

    const found = (await (await call(`/v1/templates?q=${encodeURIComponent(name.split("/")[0]!)}`)).json()) as { results: Template[] };
    expect(found.results.map((t) => t.name)).toEqual([name, name, name, name]);
    const latest = (await (await call(`/v1/templates/${name}@latest`)).json()) as Template;
    expect(latest.version).toBe("1.10.0");
    expect((await call(`/v1/templates/${name}@9.9.9`)).status).toBe(404);
  });

  it("treats % and _ in a search as plain characters", async () => {
    const { key } = await signIn();
    const namespace = freshNamespace();
    await publish(key, echoTemplate(`${namespace}/a_b`, "1.0.0", { description: "100% plain" }));
    await publish(key, echoTemplate(`${namespace}/axb`, "1.0.0", { description: "plain" }));
    const search = async (q: string) => ((await (await call(`/v1/templates?q=${encodeURIComponent(q)}`)).json()) as { results: Template[] }).results.map((t) => t.name);
    expect(await search(`${namespace}/a_b`)).toEqual([`${namespace}/a_b`]);
    expect((await search("100%")).filter((name) => name.startsWith(namespace))).toEqual([`${namespace}/a_b`]);
  });
});

describe("running a template", () => {
  it("resolves parameters into the spec, with defaults, and a job records the exact version", async () => {
    const { key } = await signIn();
    const name = `${freshNamespace()}/echo`;
    await publish(key, echoTemplate(name));
    const resolved = await post(`/v1/templates/${name}@latest/resolve`, { params: { message: "hi; rm -rf /" } });
    expect(resolved.status).toBe(200);
    const { template, spec } = (await resolved.json()) as { template: string; spec: Job["spec"] };
    expect(template).toBe(`${name}@1.0.0`);
    // Whole arguments: the value is never split or interpreted by a shell of ours.
    expect(spec.cmd).toEqual(["sh", "-c", "for i in $(seq 1); do echo \"$1\"; done", "echo", "hi; rm -rf /"]);
    expect(spec.env).toEqual({ GREETING: "hi; rm -rf /" });

    const created = await post("/v1/jobs", { template: `${name}@latest`, params: { message: "hello", times: 3 }, max_price_wei: "5" }, { key });
    expect(created.status).toBe(201);
    const job = (await created.json()) as Job;
    expect(job.template).toBe(`${name}@1.0.0`);
    expect(job.spec.cmd?.[2]).toBe("for i in $(seq 3); do echo \"$1\"; done");
    expect(job.spec.max_price_wei).toBe("5");
  });

  it("carries a declared comparison into every run's spec, as published, and refuses a malformed one naming it", async () => {
    const { key } = await signIn();
    const name = `${freshNamespace()}/train`;
    const verify = { mode: "tolerant", files: [{ path: "metrics.json", format: "json", rtol: 0.001 }, { path: "model.pt", format: "present" }] };
    expect((await publish(key, echoTemplate(name, "1.0.0", { deterministic: false, verify }))).status).toBe(201);
    const shown = (await (await call(`/v1/templates/${name}@1.0.0`)).json()) as Template;
    expect(shown.verify).toEqual(verify);
    const resolved = (await (await post(`/v1/templates/${name}@1.0.0/resolve`, { params: { message: "x" } })).json()) as { spec: Job["spec"] };
    // Exactly as published, no defaults filled in: the creator signs this spec's hash.
    expect(resolved.spec.verify).toEqual(verify);
    const bad = await publish(key, echoTemplate(`${freshNamespace()}/train`, "1.0.0", { verify: { mode: "tolerant", files: [{ path: "../x", format: "labels", min_agreement: 2 }] } }));
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as Problem).errors!.map((e) => e.path)).toEqual(expect.arrayContaining(["verify.files.0.path", "verify.files.0.min_agreement"]));
  });

  it.each([
    ["a missing required parameter", {}, "params.message"],
    ["a parameter it does not declare", { message: "x", extra: 1 }, "params"],
    ["a value outside its bounds", { message: "x", times: 11 }, "params.times"],
    ["a value of the wrong type", { message: "x", times: "3" }, "params.times"],
  ])("refuses a run with %s (422)", async (_what, params, path) => {
    const { key } = await signIn();
    const name = `${freshNamespace()}/echo`;
    await publish(key, echoTemplate(name));
    const response = await post("/v1/jobs", { template: `${name}@1.0.0`, params }, { key });
    expect(response.status).toBe(422);
    expect(((await response.json()) as Problem).errors!.map((e) => e.path)).toContain(path);
  });

  it("answers 404 for a template that does not exist, and names the fields of a malformed template run", async () => {
    const { key } = await signIn();
    expect((await post("/v1/jobs", { template: "nobody/nothing@1.0.0" }, { key })).status).toBe(404);
    const malformed = await post("/v1/jobs", { template: "x/y@1.0.0", params: "no" }, { key });
    expect(malformed.status).toBe(422);
    expect(((await malformed.json()) as Problem).errors!.map((e) => e.path)).toEqual(["params"]);
  });
});
