// Where a job's image may be pulled from: public registries only, unless the operator named an address for
// development; the check runs against a stand-in resolver here, and against the real engine below (a job naming a
// registry on loopback fails before the engine connects to it).
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerExecutor } from "../../../provider/executor/docker.ts";
import { PrivateImages } from "../../../provider/executor/privateImages.ts";
import { checkRegistryHost, registryHostOf, type RegistryHostPolicy } from "../../../provider/executor/registryHost.ts";
import { docker } from "../../helpers/docker.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const PUBLIC = "93.184.215.14";
const answers: Record<string, string[]> = { "models.example": [PUBLIC], "mixed.example": [PUBLIC, "10.1.2.3"], "inside.example": ["192.168.1.1"], "localhost": ["127.0.0.1"] };
const asked: string[] = [];
const policy = (allowAddresses: string[] = []): RegistryHostPolicy => ({
  allowAddresses,
  resolve: async (host) => {
    asked.push(host);
    const found = answers[host];
    if (!found) throw new Error(`ENOTFOUND ${host}`);
    return found;
  },
});

describe("a job's registry host", () => {
  it("is read from the reference as the engine reads it (Docker Hub's names are not checked)", () => {
    expect(registryHostOf("busybox:1")).toBeUndefined();
    expect(registryHostOf("me/model@sha256:" + "a".repeat(64))).toBeUndefined();
    expect(registryHostOf("docker.io/me/model")).toBeUndefined();
    expect(registryHostOf("ghcr.io/me/model:1")).toBe("ghcr.io");
    expect(registryHostOf("10.0.0.5:5000/me/model")).toBe("10.0.0.5");
    expect(registryHostOf("[fd00::5]:5000/me/model")).toBe("fd00::5");
    expect(registryHostOf("localhost:5000/model")).toBe("localhost");
    expect(registryHostOf("Models.Example/x")).toBe("models.example");
  });

  it("passes public registries and refuses any with a non-public address, saying why", async () => {
    await expect(checkRegistryHost("models.example/me/model:1", policy())).resolves.toBeUndefined();
    await expect(checkRegistryHost(`${PUBLIC}:5000/me/model`, policy())).resolves.toBeUndefined();
    asked.length = 0;
    await expect(checkRegistryHost("busybox", policy())).resolves.toBeUndefined();
    expect(asked).toEqual([]);
    const refusals: Array<[string, RegExp]> = [
      ["10.0.0.5:5000/me/model", /its registry 10\.0\.0\.5 is not a public address/],
      ["127.0.0.1:5055/pond/busybox:2", /its registry 127\.0\.0\.1 is not a public address/],
      ["[fd00::5]:5000/me/model", /its registry fd00::5 is not a public address/],
      ["169.254.169.254/latest/x", /is not a public address/],
      ["localhost:5000/model", /its registry localhost does not resolve to public addresses only/],
      ["inside.example/me/model", /does not resolve to public addresses only/],
      ["mixed.example/me/model", /does not resolve to public addresses only/],
      ["nowhere.example/me/model", /its registry nowhere\.example could not be resolved/],
    ];
    for (const [image, why] of refusals) await expect(checkRegistryHost(image, policy()), image).rejects.toThrow(why);
  });

  it("passes a non-public address the operator named, and no other", async () => {
    await expect(checkRegistryHost("127.0.0.1:5055/pond/busybox:2", policy(["127.0.0.1"]))).resolves.toBeUndefined();
    await expect(checkRegistryHost("localhost:5055/pond/busybox:2", policy(["127.0.0.1"]))).resolves.toBeUndefined();
    await expect(checkRegistryHost("10.0.0.5:5000/me/model", policy(["127.0.0.1"]))).rejects.toThrow(/not a public address/);
  });
});

describe("a job whose image names a registry on the provider's own network", () => {
  const tempDir = useTempDir("registry-host");
  let server: Server;
  let connections = 0;
  beforeAll(async () => {
    // Stands where a registry on loopback would: it only counts who connects.
    server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  it("fails before the engine connects to it, unless the operator allowed that address", async () => {
    const image = `127.0.0.1:${(server.address() as AddressInfo).port}/pond/model:1`;
    const request = () => ({ jobId: "job_local_registry", spec: { image, resources: { gpus: 0, cpus: 0.5, memory_mb: 64 }, timeout_s: 5, max_price_wei: "1" }, gpuUuids: [], workDir: join(tempDir(), "job_local_registry") });
    const options = { pullPolicy: "missing" as const, privateImages: PrivateImages.inMemory(), provider: `0xregistry${process.pid}`, maxOutputBytes: 1024 * 1024, outputVolume: "folder" as const };
    const hooks = { onPhase: () => undefined, onLog: () => undefined };
    const refused = await new DockerExecutor(docker, pino({ level: "silent" }), options).run(request(), hooks, new AbortController().signal);
    expect(refused).toMatchObject({ outcome: "failed", error: `could not get image ${image}: its registry 127.0.0.1 is not a public address: this provider pulls images only from public registries` });
    expect(connections).toBe(0);
    // Allowed (as npm start allows its own registry), the engine does go there: the stand-in answers nothing a pull can use.
    const allowed = await new DockerExecutor(docker, pino({ level: "silent" }), { ...options, registryHosts: { allowAddresses: ["127.0.0.1"], resolve: async () => [] } }).run(request(), hooks, new AbortController().signal);
    expect(allowed.outcome).toBe("failed");
    expect(connections).toBeGreaterThan(0);
  });
});
