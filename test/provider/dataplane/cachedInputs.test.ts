// The input cache in front of a job's fetch, on a real file system: all files
// cached means no fetch at all (route "cache"); some cached means the fetch
// runs for the job (finding those complete) and only the rest are kept; none
// cached is the fetch as it was. The fetch here writes files as one would.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { buildTransferManifest } from "../../../p2p/node/buildTransferManifest.ts";
import { fetchThroughCache, type CachedFetch } from "../../../provider/dataplane/cachedInputs.ts";
import { InputCache } from "../../../provider/dataplane/inputCache.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const dir = useTempDir("cached-inputs");
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

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
    const spec = (path: string, bytes: Uint8Array) => ({ path, size: bytes.length, sha256: sha256(bytes) });

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
});
