// How the daemon groups a job's small outputs into batches: within the API's
// limits on files and bytes per batch, in the manifest's order, big files left
// to go up on their own.
import { describe, expect, it } from "vitest";
import { BATCH_FILE_MAX_BYTES, BATCH_MAX_CONTENT_BYTES, BATCH_MAX_FILES } from "../../protocol/outputBatch.ts";
import type { ManifestFile } from "../../protocol/manifest.ts";
import { batchesOf } from "../../provider/uploadBatch.ts";

const file = (path: string, size: number): ManifestFile => ({ path, size, sha256: "0".repeat(64) });

describe("batchesOf", () => {
  it("fills batches up to the most files a batch may hold, in order", () => {
    const files = Array.from({ length: 2 * BATCH_MAX_FILES + 88 }, (_, i) => file(`f${i}`, 0));
    const batches = batchesOf(files);
    expect(batches.map((batch) => batch.length)).toEqual([BATCH_MAX_FILES, BATCH_MAX_FILES, 88]);
    expect(batches.flat()).toEqual(files);
  });

  it("starts a new batch before one would pass the bytes a batch may carry, and leaves bigger files out", () => {
    const files = [file("big.bin", BATCH_FILE_MAX_BYTES + 1), ...Array.from({ length: 40 }, (_, i) => file(`s${i}`, BATCH_FILE_MAX_BYTES))];
    const batches = batchesOf(files);
    for (const batch of batches) expect(batch.reduce((sum, entry) => sum + entry.size, 0)).toBeLessThanOrEqual(BATCH_MAX_CONTENT_BYTES);
    expect(batches.map((batch) => batch.length)).toEqual([16, 16, 8]);
    expect(batches.flat().map((entry) => entry.path)).not.toContain("big.bin");
    expect(batchesOf([])).toEqual([]);
  });
});
