import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../provider/config.ts";
import { loadOrCreateKeyFile } from "../../keys/keyFile.ts";
import { useTempDir } from "../helpers/tempDir.ts";

const tempDir = useTempDir("config");

describe("loadConfig", () => {
  it("takes flags over environment over file over defaults", async () => {
    const file = join(tempDir(), "provider.json");
    await writeFile(file, JSON.stringify({ api: "http://file.example", pull: "always", cpuSecondWei: "7" }));
    const config = await loadConfig({ config: file, pull: "never", dataDir: tempDir() }, { POND_PULL: "missing", POND_CPU_SECOND_WEI: "9" });
    expect(config.api).toBe("http://file.example");
    expect(config.pull).toBe("never");
    expect(config.cpuSecondWei).toBe("9");
    expect(config.keyFile).toBe(join(tempDir(), "provider.key"));
  });

  it("names the flag and variable of every bad value", async () => {
    const error = await loadConfig({ api: "not a url", pull: "sometimes", gpuSecondWei: "-1", dataDir: tempDir() }, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain("--api / POND_API");
    expect(message).toContain("--pull / POND_PULL");
    expect(message).toContain("--gpu-second-wei / POND_GPU_SECOND_WEI");
  });

  it("takes --prepull images from flags or a comma- or space-separated variable, and the input cache budget", async () => {
    const fromFlags = await loadConfig({ api: "http://x.example", dataDir: tempDir(), prepull: ["r.example/a@sha256:" + "1".repeat(64), "b:2"], inputCacheMb: "512" }, {});
    expect(fromFlags.prepull).toEqual(["r.example/a@sha256:" + "1".repeat(64), "b:2"]);
    expect(fromFlags.inputCacheMb).toBe(512);
    const fromEnv = await loadConfig({ api: "http://x.example", dataDir: tempDir() }, { POND_PREPULL: "a:1, b:2 c:3", POND_INPUT_CACHE_MB: "0" });
    expect(fromEnv.prepull).toEqual(["a:1", "b:2", "c:3"]);
    expect(fromEnv.inputCacheMb).toBe(0);
    const defaults = await loadConfig({ api: "http://x.example", dataDir: tempDir() }, {});
    expect(defaults.prepull).toEqual([]);
    expect(defaults.inputCacheMb).toBeUndefined();
    const bad = await loadConfig({ api: "http://x.example", dataDir: tempDir(), prepull: ["Not An Image!"], inputCacheMb: "-1" }, {}).catch((e: unknown) => e);
    expect((bad as Error).message).toContain("--prepull / POND_PREPULL");
    expect((bad as Error).message).toContain("--input-cache-mb / POND_INPUT_CACHE_MB");
  });

  it("leaves egress off by default, with no address counted reachable that is not public", async () => {
    const defaults = await loadConfig({ api: "http://x.example", dataDir: tempDir() }, {});
    expect(defaults).toMatchObject({ egress: false, egressDeny: [], egressAllowAddresses: [], egressBudgetMb: 10_240, egressMaxConnections: 32 });
  });

  it("takes egress settings from flags or the environment, and names a bad one", async () => {
    const fromFlags = await loadConfig({ api: "http://x.example", dataDir: tempDir(), egress: true, egressDeny: ["*.internal.example"], egressBudgetMb: "100" }, {});
    expect(fromFlags).toMatchObject({ egress: true, egressDeny: ["*.internal.example"], egressBudgetMb: 100 });
    const fromEnv = await loadConfig({ api: "http://x.example", dataDir: tempDir() }, { POND_EGRESS: "true", POND_EGRESS_ALLOW_ADDRESSES: "10.203.0.2, fd00::2", POND_EGRESS_MAX_CONNECTIONS: "4" });
    expect(fromEnv).toMatchObject({ egress: true, egressAllowAddresses: ["10.203.0.2", "fd00::2"], egressMaxConnections: 4 });
    const bad = await loadConfig({ api: "http://x.example", dataDir: tempDir(), egressDeny: ["10.0.0.1"], egressAllowAddresses: ["not-an-ip"] }, { POND_EGRESS: "maybe" }).catch((e: unknown) => e);
    expect((bad as Error).message).toContain("--egress / POND_EGRESS");
    expect((bad as Error).message).toContain("--egress-deny / POND_EGRESS_DENY");
    expect((bad as Error).message).toContain("--egress-allow-addresses / POND_EGRESS_ALLOW_ADDRESSES");
  });

  it("says so when the api is missing or the file is not JSON", async () => {
    await expect(loadConfig({ dataDir: tempDir() }, {})).rejects.toThrow(/--api \/ POND_API/);
    const file = join(tempDir(), "bad.json");
    await writeFile(file, "{nope");
    await expect(loadConfig({ config: file, dataDir: tempDir() }, {})).rejects.toThrow(/not a JSON object/);
  });
});

describe("loadOrCreateKeyFile", () => {
  it("creates a key readable only by its owner, and loads the same one again", async () => {
    const keyFile = join(tempDir(), "nested", "provider.key");
    const first = await loadOrCreateKeyFile(keyFile);
    expect(first.created).toBe(true);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const second = await loadOrCreateKeyFile(keyFile);
    expect(second.created).toBe(false);
    expect(second.account.address).toBe(first.account.address);
  });

  it("refuses a file that is not a key", async () => {
    const keyFile = join(tempDir(), "provider.key");
    await writeFile(keyFile, "hello");
    await expect(loadOrCreateKeyFile(keyFile)).rejects.toThrow(/does not hold a 0x-prefixed 32-byte private key/);
  });
});
