// The provider's input cache on a real file system: files kept by sha256 as hard
// links (never copies), placed into a job's inputs folder, least recently used
// out past the budget, checked again before each use, found again after a
// restart, and never left half-inserted by a process killed mid-insert.
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { appendFile, link, mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { InputCache } from "../../../provider/dataplane/inputCache.ts";
import { spawnProcess } from "../../helpers/processes.ts";
import { useTempDir } from "../../helpers/tempDir.ts";
import { asInput, cacheIn, fetched, sha256 } from "./inputCacheFixtures.ts";
import { tsNode } from "../../helpers/tsNode.ts";

const dir = useTempDir("input-cache");
const run = promisify(execFile);
const log = pino({ level: "silent" });



describe("the input cache", () => {
  it("keeps a fetched file as a hard link and places it in the next job's folder as another, moving no bytes", async () => {
    const cache = cacheIn(dir());
    await cache.load();
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    const first = await fetched(dir(), "job_a", { "data/big.bin": bytes });
    await cache.keep(first.files, first.inputs);
    expect(cache.hashes(10)).toEqual([sha256(bytes)]);

    const next = join(dir(), "jobs", "job_b", "inputs");
    const placed = await cache.place([asInput(first.files[0]!, "weights/model.bin")], next);
    expect(placed.bytes).toBe(bytes.length);
    // Same path as the spec names, same chunk hashes as the fetch had: what serves a mediator.
    expect(placed.files).toEqual([{ ...first.files[0]!, path: "weights/model.bin" }]);
    const original = await stat(join(first.inputs, "data", "big.bin"));
    const linked = await stat(join(next, "weights", "model.bin"));
    expect(linked.ino).toBe(original.ino);
    expect(sha256(await readFile(join(next, "weights", "model.bin")))).toBe(sha256(bytes));
  });

  it("places nothing for a file it does not hold, or holds at another size", async () => {
    const cache = cacheIn(dir());
    await cache.load();
    const job = await fetched(dir(), "job_a", { "a.bin": randomBytes(1000) });
    await cache.keep(job.files, job.inputs);
    const other = { path: "x.bin", size: 10, sha256: sha256(randomBytes(10)) };
    const wrongSize = { ...asInput(job.files[0]!), size: 999 };
    expect(await cache.place([other, wrongSize], join(dir(), "jobs", "job_b", "inputs"))).toEqual({ files: [], bytes: 0 });
  });

  it("evicts the least recently used past its budget, and a job still holding an evicted file reads it whole", async () => {
    let clock = 1_000;
    const cache = cacheIn(dir(), 2_500, () => clock++);
    await cache.load();
    const [a, b, c] = [randomBytes(1000), randomBytes(1000), randomBytes(1000)];
    const jobA = await fetched(dir(), "job_a", { "a.bin": a });
    const jobB = await fetched(dir(), "job_b", { "b.bin": b });
    await cache.keep(jobA.files, jobA.inputs);
    await cache.keep(jobB.files, jobB.inputs);
    // a used again: b is now the least recently used.
    const running = join(dir(), "jobs", "job_running", "inputs");
    expect((await cache.place([asInput(jobA.files[0]!)], running)).bytes).toBe(1000);
    const usingB = join(dir(), "jobs", "job_using_b", "inputs");
    expect((await cache.place([asInput(jobB.files[0]!)], usingB)).bytes).toBe(1000);
    clock += 10;
    expect((await cache.place([asInput(jobA.files[0]!)], join(dir(), "jobs", "job_again", "inputs"))).bytes).toBe(1000);

    const jobC = await fetched(dir(), "job_c", { "c.bin": c });
    await cache.keep(jobC.files, jobC.inputs);
    expect(cache.has(sha256(a))).toBe(true);
    expect(cache.has(sha256(b))).toBe(false);
    expect(cache.has(sha256(c))).toBe(true);
    expect(cache.usedBytes).toBe(2000);
    expect(cache.hashes(10)).toEqual([sha256(c), sha256(a)]);
    // The job that placed b still has it: its own link keeps the bytes.
    expect(sha256(await readFile(join(usingB, "b.bin")))).toBe(sha256(b));
    expect(await readdir(join(dir(), "cache", "inputs"))).not.toContain(sha256(b));
  });

  it("keeps nothing bigger than its budget, and nothing at all with a budget of 0", async () => {
    const small = cacheIn(dir(), 500);
    await small.load();
    const job = await fetched(dir(), "job_a", { "a.bin": randomBytes(1000) });
    await small.keep(job.files, job.inputs);
    expect(small.hashes(10)).toEqual([]);
    const off = cacheIn(join(dir(), "off"), 0);
    await off.load();
    await off.keep(job.files, job.inputs);
    expect(off.hashes(10)).toEqual([]);
    expect(await off.place([asInput(job.files[0]!)], join(dir(), "jobs", "job_b", "inputs"))).toEqual({ files: [], bytes: 0 });
  });

  it("drops a cached file written to since it was verified (same size included), and keeps the next fetch of it", async () => {
    const cache = cacheIn(dir());
    await cache.load();
    const bytes = randomBytes(4096);
    const job = await fetched(dir(), "job_a", { "a.bin": bytes });
    await cache.keep(job.files, job.inputs);
    const cached = join(dir(), "cache", "inputs", sha256(bytes));
    // One byte flipped in place: same size, same inode.
    const damaged = Buffer.from(bytes);
    damaged[100] = damaged[100]! ^ 0xff;
    await writeFile(cached, damaged, { flag: "r+" });

    const changes: number[] = [];
    cache.on("change", () => changes.push(1));
    const next = join(dir(), "jobs", "job_b", "inputs");
    expect(await cache.place([asInput(job.files[0]!)], next)).toEqual({ files: [], bytes: 0 });
    expect(cache.has(sha256(bytes))).toBe(false);
    expect(changes).toHaveLength(1);
    await expect(stat(cached)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(stat(join(next, "a.bin"))).rejects.toMatchObject({ code: "ENOENT" });

    // Fetched again (verified) and kept again: the next job gets the good bytes.
    const again = await fetched(dir(), "job_c", { "a.bin": bytes });
    await cache.keep(again.files, again.inputs);
    const third = join(dir(), "jobs", "job_d", "inputs");
    expect((await cache.place([asInput(job.files[0]!)], third)).bytes).toBe(bytes.length);
    expect(sha256(await readFile(join(third, "a.bin")))).toBe(sha256(bytes));
  });

  it("drops a cached file that grew, or was replaced by another file under its name", async () => {
    const cache = cacheIn(dir());
    await cache.load();
    const [a, b] = [randomBytes(2000), randomBytes(2000)];
    const job = await fetched(dir(), "job_a", { "a.bin": a, "b.bin": b });
    await cache.keep(job.files, job.inputs);
    await appendFile(join(dir(), "cache", "inputs", sha256(a)), "x");
    await writeFile(join(dir(), "replacement"), b);
    const cachedB = join(dir(), "cache", "inputs", sha256(b));
    await rename(join(dir(), "replacement"), cachedB);
    expect(await cache.place(job.files.map((file) => asInput(file)), join(dir(), "jobs", "job_b", "inputs"))).toEqual({ files: [], bytes: 0 });
    expect(cache.hashes(10)).toEqual([]);
  });

  it("finds a change the identity check cannot see (bytes changed, mtime put back) on its background recheck", async () => {
    let clock = 1_000_000;
    const cache = cacheIn(dir(), 64 * 1024 * 1024, () => clock);
    await cache.load();
    const [good, rotten] = [randomBytes(5000), randomBytes(5000)];
    const job = await fetched(dir(), "job_a", { "good.bin": good, "rotten.bin": rotten });
    await cache.keep(job.files, job.inputs);
    const path = join(dir(), "cache", "inputs", sha256(rotten));
    const before = await stat(path, { bigint: true });
    const changed = Buffer.from(rotten);
    changed[0] = changed[0]! ^ 1;
    await writeFile(path, changed, { flag: "r+" });
    // To the nanosecond (Node's utimes rounds), as a disk's own damage would leave it.
    await run("touch", ["-m", "-d", `@${before.mtimeNs / 1_000_000_000n}.${String(before.mtimeNs % 1_000_000_000n).padStart(9, "0")}`, path]);
    // What the check before use cannot see: the file looks as it did when verified.
    expect((await cache.place([asInput(job.files[1]!)], join(dir(), "jobs", "job_b", "inputs"))).bytes).toBe(5000);

    expect(await cache.recheckOldest(60_000)).toBe("nothing due");
    clock += 120_000;
    const outcomes = [await cache.recheckOldest(60_000), await cache.recheckOldest(60_000), await cache.recheckOldest(60_000)];
    expect(outcomes.sort()).toEqual(["dropped", "intact", "nothing due"]);
    expect(cache.hashes(10)).toEqual([sha256(good)]);
  });

  it("finds its files again after a restart, and forgets those changed while it was down", async () => {
    const cache = cacheIn(dir());
    await cache.load();
    const [kept, changed] = [randomBytes(3000), randomBytes(3000)];
    const job = await fetched(dir(), "job_a", { "kept.bin": kept, "changed.bin": changed });
    await cache.keep(job.files, job.inputs);
    await appendFile(join(dir(), "cache", "inputs", sha256(changed)), "!");

    const restarted = cacheIn(dir());
    await restarted.load();
    expect(restarted.hashes(10)).toEqual([sha256(kept)]);
    expect(await readdir(join(dir(), "cache", "inputs"))).not.toContain(sha256(changed));
    const next = join(dir(), "jobs", "job_b", "inputs");
    expect((await restarted.place(job.files.map((file) => asInput(file)), next)).files.map((file) => file.path)).toEqual(["kept.bin"]);
  });

  it("never takes what an insert cut short for a cached file: a temporary link, or a file the index does not name", async () => {
    const cache = cacheIn(dir());
    await cache.load();
    const [done, cut, orphan] = [randomBytes(1000), randomBytes(1000), randomBytes(1000)];
    const job = await fetched(dir(), "job_a", { "done.bin": done, "cut.bin": cut, "orphan.bin": orphan });
    await cache.keep([job.files[0]!], job.inputs);
    const root = join(dir(), "cache", "inputs");
    // Killed after the link, before the rename; and after the rename, before the index was written.
    await link(join(job.inputs, "cut.bin"), join(root, `.tmp-${sha256(cut)}-1-abc`));
    await link(join(job.inputs, "orphan.bin"), join(root, sha256(orphan)));

    const restarted = cacheIn(dir());
    await restarted.load();
    expect(restarted.hashes(10)).toEqual([sha256(done)]);
    expect((await readdir(root)).sort()).toEqual([sha256(done), `${sha256(done)}.chunks.json`, "index.json"].sort());
  });

  it("survives SIGKILL in the middle of inserts: after a restart every file it lists hashes to its name", async () => {
    const fetchedDir = join(dir(), "fetched");
    await mkdir(fetchedDir);
    for (let i = 0; i < 600; i++) await writeFile(join(fetchedDir, `f${String(i).padStart(3, "0")}.bin`), randomBytes(2_000 + i));
    const root = join(dir(), "cache", "inputs");
    const inserter = spawnProcess(...tsNode("test/provider/dataplane/inputCacheInserter.ts", [root, fetchedDir]), { name: "inserter" });
    await inserter.waitFor(/kept 20\n/, 60_000);
    await inserter.stop("SIGKILL");
    expect(inserter.output()).not.toMatch(/done/);

    const restarted = new InputCache({ root, budgetBytes: 1024 ** 3, log });
    await restarted.load();
    const listed = restarted.hashes(1000);
    expect(listed.length).toBeGreaterThanOrEqual(20);
    for (const hash of listed) expect(sha256(await readFile(join(root, hash)))).toBe(hash);
    const names = await readdir(root);
    expect(names.filter((name) => name.startsWith(".tmp-"))).toEqual([]);
    expect(names.filter((name) => /^[0-9a-f]{64}$/.test(name)).sort()).toEqual([...listed].sort());
  }, 90_000);

  it("gives two jobs wanting the same file at once one cached copy, and both their links", async () => {
    const cache = cacheIn(dir());
    await cache.load();
    const bytes = randomBytes(50_000);
    const [one, two] = await Promise.all([fetched(dir(), "job_a", { "x.bin": bytes }), fetched(dir(), "job_b", { "y.bin": bytes })]);
    await Promise.all([cache.keep(one.files, one.inputs), cache.keep(two.files, two.inputs)]);
    expect(cache.hashes(10)).toEqual([sha256(bytes)]);
    expect(cache.usedBytes).toBe(bytes.length);
    const [p, q] = await Promise.all([
      cache.place([asInput(one.files[0]!)], join(dir(), "jobs", "job_c", "inputs")),
      cache.place([asInput(one.files[0]!)], join(dir(), "jobs", "job_d", "inputs")),
    ]);
    expect([p.bytes, q.bytes]).toEqual([bytes.length, bytes.length]);
    expect(sha256(await readFile(join(dir(), "jobs", "job_d", "inputs", "x.bin")))).toBe(sha256(bytes));
  });
});
