// The input cache in front of a job's fetch, on a real file system: all files
// cached means no fetch at all (route "cache"); some cached means the fetch
// runs for the job (finding those complete) and only the rest are kept; none
// cached is the fetch as it was. The fetch here writes files as one would. A
// cached file the fetch finds bad is dropped for the fetched copy, and a cache
// that cannot write its index never fails the job.
import { execFile, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { buildTransferManifest } from "../../../p2p/node/buildTransferManifest.ts";
import { fetchThroughCache, type CachedFetch } from "../../../provider/dataplane/cachedInputs.ts";
import { InputCache } from "../../../provider/dataplane/inputCache.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const dir = useTempDir("cached-inputs");
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const spec = (path: string, bytes: Uint8Array) => ({ path, size: bytes.length, sha256: sha256(bytes) });
const run = promisify(execFile);
/** chattr +i on a folder (as root) makes it refuse new names: a disk refusing the cache's writes, and only those. */
const canChattr = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("chattr", ["--help"], { stdio: "ignore" });
  } catch (error) {
    // chattr prints usage and exits 1: it is there.
    return (error as { status?: number }).status === 1;
  }
  return true;
})();

/** A fetch that writes `files` into the inputs folder (where missing) and reports them moved directly. */
function fetcher(inputsDir: string, files: Record<string, Uint8Array>) {
  const calls: number[] = [];
  const fetch = async (): Promise<CachedFetch> => {
    calls.push(1);
    let moved = 0;
    for (const [path, bytes] of Object.entries(files)) {
      const target = join(inputsDir, path);
      if (await stat(target).then(() => true, () => false)) continue;
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, bytes);
      moved += bytes.length;
    }
    return { measure: { route: "direct", bytes: moved, ms: 5 }, manifest: await buildTransferManifest(inputsDir, Object.keys(files)) };
  };
  return { fetch, calls };
}

describe("fetchThroughCache", () => {
  it("moves nothing when every file is cached, moves only the rest when some are, and keeps what it fetched", async () => {
    const cache = new InputCache({ root: join(dir(), "cache"), budgetBytes: 1 << 24, log: pino({ level: "silent" }) });
    await cache.load();
    const [a, b] = [randomBytes(5000), randomBytes(7000)];

    const first = join(dir(), "job1", "inputs");
    const cold = fetcher(first, { "a.bin": a });
    expect((await fetchThroughCache(cache, [spec("a.bin", a)], first, cold.fetch)).measure).toEqual({ route: "direct", bytes: 5000, ms: 5 });
    expect(cache.has(sha256(a))).toBe(true);

    const second = join(dir(), "job2", "inputs");
    const half = fetcher(second, { "x/a.bin": a, "b.bin": b });
    const mixed = await fetchThroughCache(cache, [spec("x/a.bin", a), spec("b.bin", b)], second, half.fetch);
    expect(half.calls).toHaveLength(1);
    expect(mixed.measure).toEqual({ route: "direct", bytes: 7000, ms: 5, cached_bytes: 5000 });
    expect(sha256(await readFile(join(second, "x", "a.bin")))).toBe(sha256(a));
    expect(cache.has(sha256(b))).toBe(true);

    const third = join(dir(), "job3", "inputs");
    const warm = fetcher(third, {});
    const cached = await fetchThroughCache(cache, [spec("a.bin", a), spec("b.bin", b)], third, warm.fetch);
    expect(warm.calls).toHaveLength(0);
    expect(cached.measure).toMatchObject({ route: "cache", bytes: 0, cached_bytes: 12_000 });
    // What serves a mediator: every file, with its chunks.
    expect(cached.manifest.files.map((file) => [file.path, file.sha256, file.chunks.length])).toEqual([
      ["a.bin", sha256(a), 1],
      ["b.bin", sha256(b), 1],
    ]);
    expect(sha256(await readFile(join(third, "b.bin")))).toBe(sha256(b));
  });

  it("is the fetch as it was without a cache", async () => {
    const inputs = join(dir(), "job", "inputs");
    const bytes = randomBytes(100);
    const plain = fetcher(inputs, { "a.bin": bytes });
    expect((await fetchThroughCache(undefined, [{ path: "a.bin", size: 100, sha256: sha256(bytes) }], inputs, plain.fetch)).measure).toEqual({ route: "direct", bytes: 100, ms: 5 });
  });

  it("drops a cached file the fetch found bad (bytes changed, mtime put back) and keeps the fetched copy for the next job", async () => {
    const cache = new InputCache({ root: join(dir(), "cache"), budgetBytes: 1 << 24, log: pino({ level: "silent" }) });
    await cache.load();
    const [a, b] = [randomBytes(5000), randomBytes(7000)];
    const first = join(dir(), "job1", "inputs");
    await fetchThroughCache(cache, [spec("a.bin", a)], first, fetcher(first, { "a.bin": a }).fetch);
    // Damage the check before use cannot see: one byte flipped in place, its mtime put back to the nanosecond.
    const cached = join(dir(), "cache", sha256(a));
    const before = await stat(cached, { bigint: true });
    const damaged = Buffer.from(a);
    damaged[0] = damaged[0]! ^ 1;
    await writeFile(cached, damaged, { flag: "r+" });
    await run("touch", ["-m", "-d", `@${before.mtimeNs / 1_000_000_000n}.${String(before.mtimeNs % 1_000_000_000n).padStart(9, "0")}`, cached]);

    // The next job wants a and b: a is placed, and its fetch (finding a's bytes wrong) writes it anew, as FsChunkSink does.
    const second = join(dir(), "job2", "inputs");
    const repairing = async (): Promise<CachedFetch> => {
      for (const [path, bytes] of [["a.bin", a], ["b.bin", b]] as const) {
        const target = join(second, path);
        if (await readFile(target).then((found) => sha256(found) === sha256(bytes), () => false)) continue;
        await writeFile(`${target}.partial`, bytes);
        await rename(`${target}.partial`, target);
      }
      return { measure: { route: "direct", bytes: 12_000, ms: 5 }, manifest: await buildTransferManifest(second, ["a.bin", "b.bin"]) };
    };
    await fetchThroughCache(cache, [spec("a.bin", a), spec("b.bin", b)], second, repairing);
    expect(sha256(await readFile(join(second, "a.bin")))).toBe(sha256(a));

    // The job after that is given both from the cache, with a's good bytes.
    const third = join(dir(), "job3", "inputs");
    const warm = fetcher(third, {});
    expect((await fetchThroughCache(cache, [spec("a.bin", a), spec("b.bin", b)], third, warm.fetch)).measure.route).toBe("cache");
    expect(sha256(await readFile(join(third, "a.bin")))).toBe(sha256(a));
  });

  it.skipIf(!canChattr)("gives a job its inputs when the cache cannot write its index, and a restart then finds the cache as it was", async () => {
    const root = join(dir(), "cache", "inputs");
    const cache = new InputCache({ root, budgetBytes: 1 << 24, log: pino({ level: "silent" }) });
    await cache.load();
    const bytes = randomBytes(8000);
    const first = join(dir(), "job1", "inputs");
    await fetchThroughCache(cache, [spec("a.bin", bytes)], first, fetcher(first, { "a.bin": bytes }).fetch);
    expect(cache.has(sha256(bytes))).toBe(true);

    const next = join(dir(), "job2", "inputs");
    execFileSync("chattr", ["+i", root]);
    try {
      const fetched = await fetchThroughCache(cache, [spec("a.bin", bytes)], next, fetcher(next, { "a.bin": bytes }).fetch);
      expect(fetched.measure.route).toBe("cache");
    } finally {
      execFileSync("chattr", ["-i", root]);
    }
    expect(sha256(await readFile(join(next, "a.bin")))).toBe(sha256(bytes));
    const restarted = new InputCache({ root, budgetBytes: 1 << 24, log: pino({ level: "silent" }) });
    await restarted.load();
    expect(restarted.hashes(10)).toEqual([sha256(bytes)]);
  });
});
