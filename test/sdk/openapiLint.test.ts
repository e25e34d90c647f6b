// The OpenAPI document as third-party tools read it (the one /openapi.json
// serves): redocly's recommended rules find no error, and every operation has
// a stable operationId, which name-based generators turn into method names.
import { createConfig, lintFromString, type NormalizedProblem } from "@redocly/openapi-core";
import { beforeAll, describe, expect, it } from "vitest";
import { RESULT_MARGIN_S } from "../../protocol/deadlines.ts";
import { MAX_AUTHORIZATION_S } from "../../worker/chain/authorization.ts";
import { jobLimits } from "../../protocol/limits.ts";

type Operation = { operationId?: string; security?: unknown[]; parameters?: Array<{ in: string; name: string; required?: boolean }>; responses: Record<string, unknown> };
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { properties?: Record<string, { description?: string; properties?: Record<string, { description?: string }> }> }> } };

/**
 * Warnings of the recommended rules that the document keeps, each for a reason:
 * Pond names no licence for its API (the package is private); two reads that take
 * no input have no 4xx answer to document; the signaling WebSocket succeeds with
 * 101 Switching Protocols, and OpenAPI has no 2xx for a WebSocket to claim.
 */
const ACCEPTED_WARNINGS = [
  "info-license #/info",
  "operation-4xx-response #/paths/~1v1~1chain/get/responses",
  "operation-4xx-response #/paths/~1v1~1network/get/responses",
  "operation-2xx-response #/paths/~1v1~1jobs~1{id}~1signal/get/responses",
];

let document: Document;
let problems: NormalizedProblem[];

beforeAll(async () => {
  // Imported by URL, as scripts/sdkTypes.ts does: the Worker's modules are typechecked against workerd's types.
  const { app, openApiConfig } = await import(new URL("../../worker/app.ts", import.meta.url).href);
  document = app.getOpenAPI31Document(openApiConfig("https://api.pond.test"));
  const config = await createConfig({ extends: ["recommended"], rules: { "operation-operationId": "error" } });
  problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: "openapi.json", config });
}, 60_000);

const operations = () => Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method, operation })));
const described = (problem: NormalizedProblem) => `${problem.ruleId} ${problem.location.map((at) => at.pointer).join(",")}`;

describe("the OpenAPI document", () => {
  it("has no error under redocly's recommended rules", () => {
    expect(problems.filter((problem) => problem.severity === "error").map((problem) => `${described(problem)}: ${problem.message}`)).toEqual([]);
  });

  it("has no warning but the ones it keeps for a reason", () => {
    expect(problems.filter((problem) => problem.severity === "warn").map(described).sort()).toEqual([...ACCEPTED_WARNINGS].sort());
  });

  it("names every operation with a camelCase operationId, the method names generators use", () => {
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(ids.filter((id) => id === undefined || !/^[a-z][a-zA-Z0-9]*$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const idOf = (method: string, path: string) => document.paths[path]?.[method]?.operationId;
    expect({
      createJob: idOf("post", "/v1/jobs"),
      listJobs: idOf("get", "/v1/jobs"),
      getJob: idOf("get", "/v1/jobs/{id}"),
      cancelJob: idOf("post", "/v1/jobs/{id}/cancel"),
      getJobLogs: idOf("get", "/v1/jobs/{id}/logs"),
      getJobOutput: idOf("get", "/v1/jobs/{id}/outputs/{path}"),
    }).toEqual({ createJob: "createJob", listJobs: "listJobs", getJob: "getJob", cancelJob: "cancelJob", getJobLogs: "getJobLogs", getJobOutput: "getJobOutput" });
  });

  it("says which operations are public with `security: []`", () => {
    const open = [["get", "/v1/chain"], ["post", "/v1/auth/nonce"], ["post", "/v1/auth/keys"], ["get", "/v1/network"], ["get", "/v1/templates"], ["get", "/v1/providers/{address}"]] as const;
    for (const [method, path] of open) expect(document.paths[path]![method]!.security, `${method} ${path}`).toEqual([]);
    expect(document.paths["/v1/templates"]!.post!.security).toEqual([{ bearerAuth: [] }]);
  });

  it("marks the provider relay's signed headers required", () => {
    for (const path of ["/v1/providers/jobs/{id}/data/inputs", "/v1/providers/jobs/{id}/data/chunks/{sha256}"]) {
      const headers = document.paths[path]!.get!.parameters!.filter((parameter) => parameter.in === "header");
      expect(headers.length, path).toBe(3);
      for (const header of headers) expect(header.required, `${path} ${header.name}`).toBe(true);
    }
  });

  it("documents the signaling WebSocket's authentication, its success and its 426 as what they are", () => {
    const signal = document.paths["/v1/jobs/{id}/signal"]!.get!;
    expect(signal.security).toEqual([{ bearerAuth: [] }, { signalToken: [] }]);
    expect(Object.keys(signal.responses)).toContain("101");
    expect(signal.responses["426"]).toMatchObject({ description: expect.stringMatching(/WebSocket/) });
  });
});

describe("the job authorization's schema", () => {
  it("says what the spec hash is and which deadlines are allowed", () => {
    const authorization = document.components.schemas.CreateJobRequest!.properties!.authorization!;
    expect(authorization.description).toMatch(/keccak256/);
    expect(authorization.description).toMatch(/RFC 8785 \(JCS\)/);
    const deadline = authorization.properties!.deadline!.description!;
    expect(deadline).toContain(`match_timeout_s (default ${jobLimits.defaultMatchTimeoutS})`);
    expect(deadline).toContain(`timeout_s + ${RESULT_MARGIN_S}`);
    expect(deadline).toContain(`${MAX_AUTHORIZATION_S / 86_400} days`);
  });
});
