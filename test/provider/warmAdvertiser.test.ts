// What a provider tells its hub it holds warm, against the real Docker engine:
// image digests (never an image without one), pre-pulled ones first, cached
// input hashes, and a "warm" message only when the set changed. And --prepull
// pulling an image from a real registry so it is there and advertised.
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Docker from "dockerode";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import type { ProviderMessage } from "../../protocol/hubMessages.ts";
import type { HubClient } from "../../provider/connection/hubClient.ts";
import { InputCache } from "../../provider/dataplane/inputCache.ts";
import { prepullImages } from "../../provider/executor/imagePull.ts";
import { WarmAdvertiser } from "../../provider/warmAdvertiser.ts";
import { TEST_IMAGE } from "../helpers/docker.ts";
import { eventually } from "../helpers/eventually.ts";
import { startRegistry, type LocalRegistry } from "../helpers/registry.ts";
import { useTempDir } from "../helpers/tempDir.ts";

const docker = new Docker();
const log = pino({ level: "silent" });
const dir = useTempDir("warm");
let registry: LocalRegistry;
let pinned: string;
const repository = `pond-test/warm-${randomBytes(4).toString("hex")}`;

/** The hub connection as the advertiser sees it: connected or not, and what was sent. */
function fakeHub(connected = true) {
  const sent: ProviderMessage[] = [];
  const hub = Object.assign(new EventEmitter(), { connected, send: (message: ProviderMessage) => (hub.connected ? (sent.push(message), true) : false) });
  return { hub: hub as unknown as HubClient & { connected: boolean }, sent };
}

beforeAll(async () => {
  registry = await startRegistry();
  pinned = await registry.push(TEST_IMAGE, repository, "1", { removeLocal: true });
}, 60_000);

afterAll(async () => {
  for (const image of await docker.listImages()) {
    if ([...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].some((name) => name.includes(repository))) {
      for (const name of [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((n) => n.includes(repository))) await docker.getImage(name).remove().catch(() => undefined);
    }
  }
  await registry?.stop();
});

describe("the warm set", () => {
  it("pre-pulls an image from a registry, then lists its digest first, with its size", async () => {
    expect(await prepullImages(docker, [pinned, "127.0.0.1:1/pond/none:1"], log)).toEqual([pinned]);
    await docker.getImage(pinned).inspect();
    const digest = pinned.slice(pinned.indexOf("@") + 1);
    const warm = await new WarmAdvertiser({ hub: fakeHub().hub, docker, log, prepull: [pinned] }).current();
    // The image has other names here (the busybox it was pushed from): its digests all come first.
    const image = await docker.getImage(pinned).inspect();
    expect(warm.images.slice(0, image.RepoDigests.length)).toContainEqual({ digest, bytes: image.Size });
    expect(warm.images.length).toBeLessThanOrEqual(64);
    for (const image of warm.images) expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("tells the hub once the set changed (a file cached), and not again while it stays the same", async () => {
    const cache = new InputCache({ root: join(dir(), "cache"), budgetBytes: 1 << 20, log });
    await cache.load();
    const { hub, sent } = fakeHub();
    const advertiser = new WarmAdvertiser({ hub, docker, cache, log });
    advertiser.start();
    try {
      await eventually(async () => sent.length === 1, { what: "the first warm set" });
      expect(sent[0]).toMatchObject({ type: "warm", warm: { inputs: [] } });
      const inputs = join(dir(), "job", "inputs");
      await mkdir(inputs, { recursive: true });
      await writeFile(join(inputs, "a.bin"), randomBytes(1000));
      const manifest = await buildTransferManifest(inputs, ["a.bin"]);
      await cache.keep(manifest.files, inputs);
      await eventually(async () => sent.length === 2, { what: "the changed warm set" });
      expect(sent[1]).toMatchObject({ type: "warm", warm: { inputs: [manifest.files[0]!.sha256] } });
      // Nothing new: nothing sent, however often it is asked.
      advertiser.changed();
      advertiser.changed();
      expect(advertiser.forAdvertise()).toEqual((sent[1] as { warm: unknown }).warm);
      // Asserting that nothing comes: a bounded look past the debounce (1 s), as providerSocket's receives() does.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(sent).toHaveLength(2);
    } finally {
      advertiser.stop();
    }
  });

  it("keeps a change for the next advertise while the hub is not connected", async () => {
    const { hub, sent } = fakeHub(false);
    const advertiser = new WarmAdvertiser({ hub, docker, log });
    advertiser.changed();
    await eventually(async () => advertiser.forAdvertise() !== undefined, { what: "the set to be read" });
    expect(sent).toEqual([]);
  });
});
