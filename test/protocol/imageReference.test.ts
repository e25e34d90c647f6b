import { describe, expect, it } from "vitest";
import { parseImageReference, unreachableRegistry } from "../../protocol/imageReference.ts";

describe("parseImageReference", () => {
  it.each([
    ["busybox", { name: "busybox", repository: "docker.io/library/busybox" }],
    ["library/busybox:1.36", { name: "library/busybox", tag: "1.36", repository: "docker.io/library/busybox" }],
    ["docker.io/busybox", { name: "docker.io/busybox", repository: "docker.io/library/busybox" }],
    ["index.docker.io/me/model", { name: "index.docker.io/me/model", repository: "docker.io/me/model" }],
    ["localhost:5000/team/model:v2", { name: "localhost:5000/team/model", tag: "v2", registryHost: "localhost", repository: "localhost:5000/team/model" }],
    ["ghcr.io/org/img@sha256:" + "a".repeat(64), { name: "ghcr.io/org/img", digest: "sha256:" + "a".repeat(64), registryHost: "ghcr.io", repository: "ghcr.io/org/img" }],
    ["[::1]:5000/x:y", { name: "[::1]:5000/x", tag: "y", registryHost: "::1", repository: "[::1]:5000/x" }],
  ])("reads %s", (reference, expected) => expect(parseImageReference(reference)).toEqual(expected));

  it.each(["", "UPPER/case", "ubuntu latest", "a//b", "-leading", "x:" + "t".repeat(129), "x@sha256:short", `${"a".repeat(256)}`])("refuses %s", (reference) =>
    expect(parseImageReference(reference)).toBeUndefined(),
  );
});

describe("unreachableRegistry (what a deployment's API refuses at once)", () => {
  it("names a registry on localhost or a non-public address, and nothing a provider would resolve for itself", () => {
    expect(unreachableRegistry("localhost:5000/me/model")).toMatch(/^its registry is localhost/);
    expect(unreachableRegistry("127.0.0.1:5055/pond/busybox@sha256:" + "b".repeat(64))).toMatch(/^its registry 127\.0\.0\.1 is not a public address/);
    expect(unreachableRegistry("192.168.1.10:5000/me/model")).toMatch(/192\.168\.1\.10 is not a public address/);
    expect(unreachableRegistry("[fd00::1]:5000/me/model")).toMatch(/fd00::1 is not a public address/);
    for (const reachable of ["busybox", "ghcr.io/me/model:1", "93.184.215.14:5000/me/model", "registry.internal.example/me/model"]) expect(unreachableRegistry(reachable), reachable).toBeUndefined();
  });
});
