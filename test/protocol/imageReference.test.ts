import { describe, expect, it } from "vitest";
import { parseImageReference } from "../../protocol/imageReference.ts";

describe("parseImageReference", () => {
  it.each([
    ["busybox", { name: "busybox" }],
    ["library/busybox:1.36", { name: "library/busybox", tag: "1.36" }],
    ["localhost:5000/team/model:v2", { name: "localhost:5000/team/model", tag: "v2" }],
    ["ghcr.io/org/img@sha256:" + "a".repeat(64), { name: "ghcr.io/org/img", digest: "sha256:" + "a".repeat(64) }],
    ["[::1]:5000/x:y", { name: "[::1]:5000/x", tag: "y" }],
  ])("reads %s", (reference, expected) => expect(parseImageReference(reference)).toEqual(expected));

  it.each(["", "UPPER/case", "ubuntu latest", "a//b", "-leading", "x:" + "t".repeat(129), "x@sha256:short", `${"a".repeat(256)}`])("refuses %s", (reference) =>
    expect(parseImageReference(reference)).toBeUndefined(),
  );
});
