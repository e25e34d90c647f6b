// The dashboard's streaming sha256 (web/outputs/blobSha256.ts) against Node's own.
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { blobSha256 } from "../../web/outputs/blobSha256.ts";

describe("blobSha256", () => {
  it("hashes a Blob read as a stream of many parts as Node hashes its bytes", async () => {
    const parts = [randomBytes(3 * 1024 * 1024 + 7), randomBytes(1), randomBytes(65_536)];
    const expected = createHash("sha256").update(Buffer.concat(parts)).digest("hex");
    expect(await blobSha256(new Blob(parts))).toBe(expected);
  });

  it("hashes an empty Blob", async () => {
    expect(await blobSha256(new Blob([]))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});
