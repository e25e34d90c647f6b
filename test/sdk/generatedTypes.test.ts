// The SDK is typed from the Worker's own routes: when a route changes and the
// generated types are not regenerated (npm run sdk:types), this fails, and then
// the typecheck shows every SDK call that no longer fits.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { generateSdkTypes, SDK_TYPES_FILE, workerOpenApiDocument } from "../../scripts/sdkTypes.ts";

describe("sdk/generated/openapi.ts", () => {
  it("is what the Worker's routes generate now", { timeout: 60_000 }, async () => {
    expect(await readFile(SDK_TYPES_FILE, "utf8")).toBe(await generateSdkTypes());
  });

  it("covers every route the OpenAPI document describes", async () => {
    const committed = await readFile(SDK_TYPES_FILE, "utf8");
    const paths = Object.keys(((await workerOpenApiDocument()) as { paths: Record<string, unknown> }).paths);
    expect(paths.length).toBeGreaterThan(15);
    expect(paths.filter((path) => !committed.includes(`"${path}": {`))).toEqual([]);
  });
});
