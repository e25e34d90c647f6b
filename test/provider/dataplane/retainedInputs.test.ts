// A job's input files kept after it ends (for a mediator), on a real file system:
// linked out of the job's inputs folder, so they outlive it; found again after a
// daemon restart; removed when unreadable or past the longest retention.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildTransferManifest } from "../../../p2p/node/buildTransferManifest.ts";
import { RetainedInputs } from "../../../provider/dataplane/retainedInputs.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const dir = useTempDir("retained-inputs");
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function fetchedInputs(root: string) {
  const inputs = join(root, "jobs", "job_abc", "inputs");
  await mkdir(join(inputs, "data"), { recursive: true });
  const big = randomBytes(2 * 1024 * 1024 + 9);
  await writeFile(join(inputs, "data", "big.bin"), big);
  await writeFile(join(inputs, "note.txt"), "hi\n");
  // An inline input the spec carries itself: not one of the transfer's files, so not kept.
  await writeFile(join(inputs, "inline.txt"), "from the spec\n");
  const transfer = await buildTransferManifest(inputs, ["data/big.bin", "note.txt"]);
  return { inputs, transfer, big };
}

describe("retained inputs", () => {
  it("keeps the transfer's files after the job's folder is gone, with the manifest that serves them", async () => {
    const { inputs, transfer, big } = await fetchedInputs(dir());
    const retained = new RetainedInputs(join(dir(), "retained-inputs"));
    const kept = await retained.retain("job_abc", inputs, transfer);
    await rm(join(dir(), "jobs"), { recursive: true });
    expect(sha256(await readFile(join(kept.root, "data", "big.bin")))).toBe(sha256(big));
    expect(await readFile(join(kept.root, "note.txt"), "utf8")).toBe("hi\n");
    await expect(readFile(join(kept.root, "inline.txt"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(kept.manifest).toEqual(transfer);
    // A restarted daemon finds them, with their manifest, to serve again.
    expect(await new RetainedInputs(join(dir(), "retained-inputs")).load()).toEqual([kept]);
  });

  it("removes kept inputs past the longest retention, and unreadable ones", async () => {
    const { inputs, transfer } = await fetchedInputs(dir());
    const retained = new RetainedInputs(join(dir(), "retained-inputs"), 60_000);
    await retained.retain("job_abc", inputs, transfer, Date.now() - 120_000);
    await mkdir(join(dir(), "retained-inputs", "job_broken"), { recursive: true });
    await writeFile(join(dir(), "retained-inputs", "job_broken", "retained.json"), "{not json");
    expect(await retained.load()).toEqual([]);
    await expect(readFile(join(dir(), "retained-inputs", "job_abc", "inputs", "note.txt"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(readFile(join(dir(), "retained-inputs", "job_broken", "retained.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a job id that is not one plain folder name", async () => {
    const { inputs, transfer } = await fetchedInputs(dir());
    await expect(new RetainedInputs(join(dir(), "retained-inputs")).retain("../escape", inputs, transfer)).rejects.toThrow(/cannot name a folder/);
  });
});
