// Outputs kept after a job ends, on a real file system: linked out of the job's
// folder (which stays whole), every chunk hashed, and removed once expired (or unreadable).
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildManifest } from "../../../protocol/manifest.ts";
import { RetainedOutputs } from "../../../provider/dataplane/retainedOutputs.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const dir = useTempDir("retained");
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function jobOutputs(root: string) {
  const outputs = join(root, "jobs", "job_abc", "outputs");
  await mkdir(join(outputs, "sub"), { recursive: true });
  const big = randomBytes(2 * 1024 * 1024 + 9);
  await writeFile(join(outputs, "sub", "big.bin"), big);
  await writeFile(join(outputs, "small.txt"), "hi\n");
  const manifest = await buildManifest([
    { path: "small.txt", size: 3, sha256: sha256(Buffer.from("hi\n")) },
    { path: "sub/big.bin", size: big.length, sha256: sha256(big) },
  ]);
  return { outputs, manifest, big };
}

describe("retained outputs", () => {
  it("keeps the manifest's files beside the job's folder, leaving that whole, and hashes every chunk", async () => {
    const { outputs, manifest, big } = await jobOutputs(dir());
    const retained = new RetainedOutputs(join(dir(), "retained"), 60_000);
    const kept = await retained.retain("job_abc", outputs, manifest);
    // A daemon killed now still finds the job's outputs where its recovery reads them.
    expect(sha256(await readFile(join(outputs, "sub", "big.bin")))).toBe(sha256(big));
    expect(sha256(await readFile(join(kept.outputsDir, "sub", "big.bin")))).toBe(sha256(big));
    const file = kept.record.transfer.files.find((f) => f.path === "sub/big.bin")!;
    expect(file.sha256).toBe(sha256(big));
    expect(file.chunks).toHaveLength(3);
    expect(file.chunks[2]).toBe(sha256(big.subarray(2 * 1024 * 1024)));
  });

  it("serves again after a restart what has not expired, and removes what has", async () => {
    const { outputs, manifest } = await jobOutputs(dir());
    const retained = new RetainedOutputs(join(dir(), "retained"), 60_000);
    const now = Date.now();
    await retained.retain("job_abc", outputs, manifest, now);
    expect((await retained.load(now + 59_000)).map((r) => r.record.job_id)).toEqual(["job_abc"]);
    expect(await retained.load(now + 61_000)).toEqual([]);
    expect(await readdir(join(dir(), "retained"))).toEqual([]);
  });

  it("leaves a job's outputs alone while they are being kept, though their record is not written yet", async () => {
    const outputs = join(dir(), "jobs", "job_big", "outputs");
    await mkdir(outputs, { recursive: true });
    // Big enough that hashing it outlasts the look below.
    const big = randomBytes(64 * 1024 * 1024);
    await writeFile(join(outputs, "big.bin"), big);
    const manifest = await buildManifest([{ path: "big.bin", size: big.length, sha256: sha256(big) }]);
    const retained = new RetainedOutputs(join(dir(), "retained"), 60_000);
    const keeping = retained.retain("job_big", outputs, manifest);
    // The sweep runs once the folder is there and the file is being hashed.
    while (!(await stat(join(dir(), "retained", "job_big", "outputs", "big.bin")).catch(() => undefined))) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(await retained.load()).toEqual([]);
    const kept = await keeping;
    expect((await retained.load()).map((r) => r.record.job_id)).toEqual(["job_big"]);
    expect(sha256(await readFile(join(kept.outputsDir, "big.bin")))).toBe(sha256(big));
  });

  it("removes a folder whose record cannot be read", async () => {
    await mkdir(join(dir(), "retained", "job_broken"), { recursive: true });
    await writeFile(join(dir(), "retained", "job_broken", "retained.json"), "{not json");
    const retained = new RetainedOutputs(join(dir(), "retained"), 60_000);
    expect(await retained.load()).toEqual([]);
    expect(await readdir(join(dir(), "retained"))).toEqual([]);
  });

  it("refuses a job id that would name a folder elsewhere", async () => {
    const retained = new RetainedOutputs(join(dir(), "retained"), 60_000);
    await expect(retained.remove("../jobs")).rejects.toThrow(/cannot name a folder/);
  });
});
