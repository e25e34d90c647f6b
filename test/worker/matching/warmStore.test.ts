// A matchmaker's index of what providers hold warm (worker/matching/warmStore.ts, in a Durable
// Object's own SQLite) as the matcher reads it: free holders are found however many busy ones
// advertised first, and a provider's claimed image size never ranks it above other holders.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { matchJobs, type GpuSlot, type ProviderCapacity, type QueuedJob } from "../../../worker/matching/matcher.ts";
import { WarmStore, warmKeysOf } from "../../../worker/matching/warmStore.ts";

const hex = (bytes: number) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
const address = (i: number) => `0x${i.toString(16).padStart(40, "0")}`;
const busy = { freeMilliCpus: 0, freeMemoryMb: 0 } satisfies Partial<ProviderCapacity>;
/** Holders 257 to 300: those with room in the tests below, behind 256 busy ones. */
const laterHolders = new Set(Array.from({ length: 44 }, (_, i) => address(257 + i)));

function provider(addr: string, options: Partial<ProviderCapacity> = {}): ProviderCapacity {
  return {
    address: addr,
    freeGpus: [],
    totalGpus: [],
    freeMilliCpus: 8000,
    totalMilliCpus: 8000,
    freeMemoryMb: 32_768,
    totalMemoryMb: 32_768,
    gpuSecondWei: 100n,
    cpuSecondWei: 5n,
    reputation: 0,
    ...options,
  };
}

function warmJob(spec: Parameters<typeof warmKeysOf>[0], gpus = 0): QueuedJob {
  return {
    id: `job_${hex(6)}`,
    resources: { gpus, cpus: 1, memory_mb: 1024 },
    maxPriceWei: 10n ** 18n,
    timeoutS: 60,
    matchDeadline: Number.MAX_SAFE_INTEGER,
    warm: warmKeysOf(spec)!,
  };
}

const pinnedTo = (digest: string, gpus = 0) => warmJob({ image: `registry.example.com/ml/torch@${digest}`, input_files: [] }, gpus);

/** A WarmStore in a Durable Object of its own (a Matchmaker no test or job uses), read by the pure matcher. */
function inFreshStore<T>(work: (warm: WarmStore) => T): Promise<T> {
  const stub = env.MATCHMAKER.get(env.MATCHMAKER.idFromName(`warm-store-${crypto.randomUUID()}`));
  return runInDurableObject(stub, (_instance, state) => work(new WarmStore(state.storage.sql)));
}

describe("the matchmaker's warm index", () => {
  it("finds a free holder of a popular image when more than 256 hold it and the first to advertise are busy", async () => {
    const digest = `sha256:${hex(32)}`;
    const assigned = await inFreshStore((warm) => {
      const providers: ProviderCapacity[] = [];
      // 300 holders; the 256 that advertised first are busy now.
      for (let i = 1; i <= 300; i++) {
        warm.replace(address(i), { images: [{ digest, bytes: 5_000_000_000 }], inputs: [] });
        providers.push(provider(address(i), i <= 256 ? busy : {}));
      }
      // A cold provider, cheaper: the usual order would pick it.
      providers.push(provider(address(9999), { cpuSecondWei: 1n }));
      return matchJobs(providers, [pinnedTo(digest)], warm.savedBytesForRound(), 7).assignments[0]?.provider;
    });
    expect(laterHolders.has(assigned!), `assigned to ${assigned}, not one of the 44 free providers holding the image`).toBe(true);
  });

  it("finds a free holder of a cached input when more than 256 hold it and the first to advertise are busy", async () => {
    const sha256 = hex(32);
    const assigned = await inFreshStore((warm) => {
      const providers: ProviderCapacity[] = [];
      for (let i = 1; i <= 300; i++) {
        warm.replace(address(i), { images: [], inputs: [sha256] });
        providers.push(provider(address(i), i <= 256 ? busy : {}));
      }
      providers.push(provider(address(9999), { cpuSecondWei: 1n }));
      const job = warmJob({ image: "ghcr.io/pond/example:1.0", input_files: [{ path: "data.bin", size: 1 << 30, sha256 }] });
      return matchJobs(providers, [job], warm.savedBytesForRound(), 7).assignments[0]?.provider;
    });
    expect(laterHolders.has(assigned!), `assigned to ${assigned}, not one of the 44 free providers holding the input`).toBe(true);
  });

  it("finds a holder with a free GPU for a GPU job past holders whose CPUs are free but GPUs are not", async () => {
    const digest = `sha256:${hex(32)}`;
    const h100 = (uuid: string): GpuSlot => ({ uuid, index: 0, model: "NVIDIA H100 80GB HBM3", vramMb: 80_000 });
    const assigned = await inFreshStore((warm) => {
      const providers: ProviderCapacity[] = [];
      for (let i = 1; i <= 300; i++) {
        warm.replace(address(i), { images: [{ digest, bytes: 5_000_000_000 }], inputs: [] });
        providers.push(provider(address(i), { totalGpus: [h100(`gpu-${i}`)], freeGpus: i <= 256 ? [] : [h100(`gpu-${i}`)] }));
      }
      providers.push(provider(address(9999), { totalGpus: [h100("cold")], freeGpus: [h100("cold")], gpuSecondWei: 1n }));
      return matchJobs(providers, [pinnedTo(digest, 1)], warm.savedBytesForRound(), 7).assignments[0]?.provider;
    });
    expect(laterHolders.has(assigned!), `assigned to ${assigned}, not one of the 44 holders with a free GPU`).toBe(true);
  });

  it("ranks the holders of one image by reputation and price, whatever size each claims for it", async () => {
    const digest = `sha256:${hex(32)}`;
    const assigned = await inFreshStore((warm) => {
      // Same digest, so the same bytes to save; the honest one is more reputable and cheaper.
      warm.replace(address(1), { images: [{ digest, bytes: 2_000_000_000 }], inputs: [] });
      warm.replace(address(2), { images: [{ digest, bytes: Number.MAX_SAFE_INTEGER }], inputs: [] });
      const providers = [provider(address(1), { reputation: 5, cpuSecondWei: 1n }), provider(address(2), { reputation: 0, cpuSecondWei: 9n })];
      return matchJobs(providers, [pinnedTo(digest)], warm.savedBytesForRound(), 1).assignments[0]?.provider;
    });
    expect(assigned).toBe(address(1));
  });

  it("counts one size for every holder of a digest, the median claim: neither one claiming it huge nor one claiming 0 moves it", async () => {
    const digest = `sha256:${hex(32)}`;
    const saved = await inFreshStore((warm) => {
      warm.replace(address(1), { images: [{ digest, bytes: 2_000_000_000 }], inputs: [] });
      warm.replace(address(2), { images: [{ digest, bytes: Number.MAX_SAFE_INTEGER }], inputs: [] });
      warm.replace(address(3), { images: [{ digest, bytes: 0 }], inputs: [] });
      return [...(warm.savedBytesForRound()(pinnedTo(digest), () => true) ?? [])];
    });
    expect(new Map(saved)).toEqual(new Map([1, 2, 3].map((n) => [address(n), 2_000_000_000])));
  });

  it("never waits for a busy warm holder: the job goes to the free cold provider in the same round", async () => {
    const digest = `sha256:${hex(32)}`;
    const assigned = await inFreshStore((warm) => {
      warm.replace(address(1), { images: [{ digest, bytes: Number.MAX_SAFE_INTEGER }], inputs: [] });
      const providers = [provider(address(1), { freeMilliCpus: 500 }), provider(address(2), { cpuSecondWei: 50n })];
      return matchJobs(providers, [pinnedTo(digest)], warm.savedBytesForRound(), 3).assignments[0]?.provider;
    });
    expect(assigned).toBe(address(2));
  });
});
