// What the provider advertises warm stays within the protocol's bounds (count and
// form) however many images its engine has and files its cache holds, so the hub never
// refuses the advertise that carries it.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type Docker from "dockerode";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { WarmSet, warmLimits } from "../../protocol/hubMessages.ts";
import type { HubClient } from "../../provider/connection/hubClient.ts";
import { InputCache } from "../../provider/dataplane/inputCache.ts";
import { WarmAdvertiser } from "../../provider/warmAdvertiser.ts";
import { useTempDir } from "../helpers/tempDir.ts";

const dir = useTempDir("warm-bounds");
const log = pino({ level: "silent" });
const digest = () => `sha256:${createHash("sha256").update(randomBytes(8)).digest("hex")}`;

describe("the warm advertiser's bounds", () => {
  it("advertises at most 64 image digests and 256 input hashes, each well formed, from a huge engine and cache", async () => {
    const images = Array.from({ length: 2_000 }, (_, i) => ({
      Id: `sha256:${i}`,
      Created: i,
      Size: 1_000_000 + i,
      RepoTags: [`repo/image${i}:latest`],
      // Several digests per image, some references malformed or of other algorithms.
      RepoDigests: [`repo/image${i}@${digest()}`, `other/image${i}@${digest()}`, `bad/image${i}@sha512:${"a".repeat(128)}`, `bad/image${i}@SHA256:${"A".repeat(64)}`],
    }));
    const docker = { listImages: async () => images } as unknown as Docker;
    const cache = new InputCache({ root: join(dir(), "cache"), budgetBytes: 1 << 30, log });
    await cache.load();
    const inputs = join(dir(), "inputs");
    await mkdir(inputs, { recursive: true });
    const names: string[] = [];
    for (let i = 0; i < 300; i++) {
      await writeFile(join(inputs, `f${i}`), randomBytes(16));
      names.push(`f${i}`);
    }
    await cache.keep((await buildTransferManifest(inputs, names)).files, inputs);
    const hub = { connected: false, send: () => false, on: () => hub } as unknown as HubClient;
    const advertiser = new WarmAdvertiser({ hub, docker, cache, log, prepull: ["repo/image5:latest"] });
    const warm = await advertiser.current();
    expect(WarmSet.safeParse(warm).success).toBe(true);
    expect(warm.images).toHaveLength(warmLimits.images);
    expect(warm.inputs).toHaveLength(warmLimits.inputs);
    expect(new Set(warm.images.map((image) => image.digest)).size).toBe(warm.images.length);
    // The pre-pulled image first.
    expect(images[5]!.RepoDigests.slice(0, 2).map((ref) => ref.split("@")[1])).toContain(warm.images[0]!.digest);
    expect(JSON.stringify(warm).length).toBeLessThan(30_000);
  });
});
