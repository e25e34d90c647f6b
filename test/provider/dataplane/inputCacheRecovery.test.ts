// The input cache when its folder is damaged or hostile, on a real file system: a
// chunk record lost or not its own, an index listing a file twice, an index that
// is not a readable file or cannot be written, junk and links left in its folder,
// racing inserts, and files changed under it while jobs use them.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TransferFile } from "../../../protocol/transfer.ts";
import { InputCache } from "../../../provider/dataplane/inputCache.ts";
import { useTempDir } from "../../helpers/tempDir.ts";
import { asInput, cacheIn, fetched, sha256 } from "./inputCacheFixtures.ts";

const dir = useTempDir("input-cache-recovery");
const cacheRoot = () => join(dir(), "cache", "inputs");



/** A cache holding one file of `size` random bytes. */
async function cacheHolding(size: number): Promise<{ cache: InputCache; bytes: Buffer; file: TransferFile }> {
  const cache = cacheIn(dir());
  await cache.load();
  const bytes = randomBytes(size);
  const job = await fetched(dir(), "job_a", { "a.bin": bytes });
  await cache.keep(job.files, job.inputs);
  return { cache, bytes, file: job.files[0]! };
}

describe("the input cache's chunk records", () => {
  it("drops a file whose chunk record was lost, keeps it again once fetched, and places it for the job after", async () => {
    const { cache, bytes, file } = await cacheHolding(10_000);
    // Emptied, as an unsynced write can be after a power cut; the file itself is intact.
    await writeFile(join(cacheRoot(), `${sha256(bytes)}.chunks.json`), "");

    expect((await cache.place([asInput(file)], join(dir(), "jobs", "job_b", "inputs"))).bytes).toBe(0);
    const again = await fetched(dir(), "job_b2", { "a.bin": bytes });
    await cache.keep(again.files, again.inputs);
    expect((await cache.place([asInput(file)], join(dir(), "jobs", "job_c", "inputs"))).bytes).toBe(bytes.length);
  });

  it("stops advertising as warm a file it could not place for want of its chunk record", async () => {
    const { cache, bytes, file } = await cacheHolding(10_000);
    await writeFile(join(cacheRoot(), `${sha256(bytes)}.chunks.json`), "");
    expect((await cache.place([asInput(file)], join(dir(), "jobs", "job_b", "inputs"))).bytes).toBe(0);
    expect(cache.hashes(10)).not.toContain(sha256(bytes));
  });

  it("after a restart, does not advertise a file whose chunk record is missing", async () => {
    const { bytes } = await cacheHolding(10_000);
    await rm(join(cacheRoot(), `${sha256(bytes)}.chunks.json`));

    const restarted = cacheIn(dir());
    await restarted.load();
    expect(restarted.hashes(10)).not.toContain(sha256(bytes));
    expect(await readdir(cacheRoot())).not.toContain(sha256(bytes));
  });

  it("never hands a job a transfer entry for other bytes than the spec's file (a chunk record swapped on disk)", async () => {
    const cache = cacheIn(dir());
    await cache.load();
    const [a, b] = [randomBytes(3000), randomBytes(5000)];
    const job = await fetched(dir(), "job_a", { "a.bin": a, "b.bin": b });
    await cache.keep(job.files, job.inputs);
    // a's chunk record now holds b's.
    await writeFile(join(cacheRoot(), `${sha256(a)}.chunks.json`), await readFile(join(cacheRoot(), `${sha256(b)}.chunks.json`)));

    const placed = await cache.place([asInput(job.files[0]!)], join(dir(), "jobs", "job_b", "inputs"));
    // Either not placed (and fetched), or placed with the entry that describes its bytes.
    for (const file of placed.files) expect({ sha256: file.sha256, size: file.size }).toEqual({ sha256: sha256(a), size: a.length });
    expect(cache.has(sha256(a))).toBe(false);
    expect(cache.has(sha256(b))).toBe(true);
  });
});

describe("the input cache's index", () => {
  it("counts each cached file once after a restart, even if its index lists one twice", async () => {
    const { bytes } = await cacheHolding(4000);
    const indexPath = join(cacheRoot(), "index.json");
    const index = JSON.parse(await readFile(indexPath, "utf8")) as { v: 1; entries: unknown[] };
    await writeFile(indexPath, JSON.stringify({ v: 1, entries: [...index.entries, ...index.entries] }));

    const restarted = cacheIn(dir());
    await restarted.load();
    expect(restarted.hashes(10)).toEqual([sha256(bytes)]);
    expect(restarted.usedBytes).toBe(bytes.length);
  });

  it("starts (with an empty cache) when index.json is not a readable file, and writes a good one in its place", async () => {
    await mkdir(join(cacheRoot(), "index.json", "inner"), { recursive: true });
    const cache = cacheIn(dir());
    await expect(cache.load()).resolves.toBeUndefined();
    expect(cache.usedBytes).toBe(0);
    expect(JSON.parse(await readFile(join(cacheRoot(), "index.json"), "utf8"))).toEqual({ v: 1, entries: [] });
  });

  it("keeps and places files when its index cannot be written, and a restart then agrees with the files on disk", async () => {
    const cache = cacheIn(dir());
    await cache.load();
    const [a, b] = [randomBytes(3000), randomBytes(4000)];
    const first = await fetched(dir(), "job_a", { "a.bin": a });
    await cache.keep(first.files, first.inputs);
    // Where the index is written before its rename: a folder there makes every write fail.
    await mkdir(join(cacheRoot(), "index.json.tmp"));

    const second = await fetched(dir(), "job_b", { "b.bin": b });
    await expect(cache.keep(second.files, second.inputs)).resolves.toBeUndefined();
    expect(cache.hashes(10).sort()).toEqual([sha256(a), sha256(b)].sort());
    const next = join(dir(), "jobs", "job_c", "inputs");
    expect((await cache.place([asInput(first.files[0]!), asInput(second.files[0]!)], next)).bytes).toBe(7000);
    expect(sha256(await readFile(join(next, "b.bin")))).toBe(sha256(b));

    // The index on disk still names only a: b's file, unnamed there, goes at the restart; a stays.
    const restarted = cacheIn(dir());
    await restarted.load();
    expect(restarted.hashes(10)).toEqual([sha256(a)]);
    expect(restarted.usedBytes).toBe(3000);
    expect((await readdir(cacheRoot())).sort()).toEqual([sha256(a), `${sha256(a)}.chunks.json`, "index.json"].sort());
  });
});

describe("the input cache's folder", () => {
  it("removes junk at start (symlinks to outside files and folders, non-hex and upper-case names, folders) without touching the targets", async () => {
    const outsideFile = join(dir(), "precious.txt");
    const outsideDir = join(dir(), "precious-dir");
    await writeFile(outsideFile, "keep me");
    await mkdir(outsideDir);
    await writeFile(join(outsideDir, "inner.txt"), "keep me too");
    const root = cacheRoot();
    await mkdir(root, { recursive: true });
    await symlink(outsideFile, join(root, "a".repeat(64)));
    await symlink(outsideDir, join(root, "b".repeat(64)));
    await symlink(outsideDir, join(root, "junk-link"));
    await writeFile(join(root, "C".repeat(64)), "upper");
    await writeFile(join(root, "not-hex.bin"), "junk");
    await mkdir(join(root, "d".repeat(64), "sub"), { recursive: true });
    await writeFile(join(root, `${"e".repeat(64)}.chunks.json`), "{}");

    const cache = cacheIn(dir());
    await cache.load();
    expect(await readdir(root)).toEqual(["index.json"]);
    expect(await readFile(outsideFile, "utf8")).toBe("keep me");
    expect(await readFile(join(outsideDir, "inner.txt"), "utf8")).toBe("keep me too");
    expect(cache.hashes(10)).toEqual([]);
  });

  it("never holds more than its budget on disk when many inserts race, and its count matches the disk", async () => {
    const cache = cacheIn(dir(), 5_000);
    await cache.load();
    const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => fetched(dir(), `job_${i}`, { "f.bin": randomBytes(900 + i) })));
    await Promise.all(jobs.map((job) => cache.keep(job.files, job.inputs)));
    const names = (await readdir(cacheRoot())).filter((name) => /^[0-9a-f]{64}$/.test(name));
    let onDisk = 0;
    for (const name of names) onDisk += (await stat(join(cacheRoot(), name))).size;
    expect(onDisk).toBeLessThanOrEqual(5_000);
    expect(cache.usedBytes).toBe(onDisk);
    expect(names.sort()).toEqual(cache.hashes(100).sort());
    const restarted = cacheIn(dir(), 5_000);
    await restarted.load();
    expect(restarted.usedBytes).toBe(onDisk);
  });

  it("drops a cached file replaced by a symlink to another file, and leaves it to the fetch", async () => {
    const { cache, bytes, file } = await cacheHolding(2000);
    await rm(join(cacheRoot(), sha256(bytes)));
    await writeFile(join(dir(), "evil.bin"), randomBytes(2000));
    await symlink(join(dir(), "evil.bin"), join(cacheRoot(), sha256(bytes)));
    expect((await cache.place([asInput(file)], join(dir(), "jobs", "job_b", "inputs"))).bytes).toBe(0);
    expect(cache.has(sha256(bytes))).toBe(false);
  });

  it("keeps a running job's placed input whole while another job's keep evicts it, and a truncated cached file is fetched again", async () => {
    let clock = 1;
    const cache = cacheIn(dir(), 3_000, () => clock++);
    await cache.load();
    const a = randomBytes(2000);
    const jobA = await fetched(dir(), "job_a", { "a.bin": a });
    await cache.keep(jobA.files, jobA.inputs);
    const running = join(dir(), "jobs", "job_run", "inputs");
    const placing = cache.place([asInput(jobA.files[0]!)], running);
    const jobB = await fetched(dir(), "job_b", { "b.bin": randomBytes(2000) });
    await Promise.all([placing, cache.keep(jobB.files, jobB.inputs)]);
    expect(cache.has(sha256(a))).toBe(false);
    expect(sha256(await readFile(join(running, "a.bin")))).toBe(sha256(a));

    const b = jobB.files[0]!;
    await truncate(join(cacheRoot(), b.sha256), 10);
    expect((await cache.place([asInput(b)], join(dir(), "jobs", "job_c", "inputs"))).bytes).toBe(0);
    expect(cache.usedBytes).toBe(0);
  });
});
