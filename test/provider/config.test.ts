import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../provider/config.ts";
import { loadOrCreateKeyFile } from "../../protocol/keyFile.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pond-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("loadConfig", () => {
  it("takes flags over environment over file over defaults", async () => {
    const file = join(dir, "provider.json");
    await writeFile(file, JSON.stringify({ api: "http://file.example", pull: "always", cpuSecondWei: "7" }));
    const config = await loadConfig({ config: file, pull: "never", dataDir: dir }, { POND_PULL: "missing", POND_CPU_SECOND_WEI: "9" });
    expect(config.api).toBe("http://file.example");
    expect(config.pull).toBe("never");
    expect(config.cpuSecondWei).toBe("9");
    expect(config.keyFile).toBe(join(dir, "provider.key"));
  });

  it("names the flag and variable of every bad value", async () => {
    const error = await loadConfig({ api: "not a url", pull: "sometimes", gpuSecondWei: "-1", dataDir: dir }, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain("--api / POND_API");
    expect(message).toContain("--pull / POND_PULL");
    expect(message).toContain("--gpu-second-wei / POND_GPU_SECOND_WEI");
  });

  it("says so when the api is missing or the file is not JSON", async () => {
    await expect(loadConfig({ dataDir: dir }, {})).rejects.toThrow(/--api \/ POND_API/);
    const file = join(dir, "bad.json");
    await writeFile(file, "{nope");
    await expect(loadConfig({ config: file, dataDir: dir }, {})).rejects.toThrow(/not a JSON object/);
  });
});

describe("loadOrCreateKeyFile", () => {
  it("creates a key readable only by its owner, and loads the same one again", async () => {
    const keyFile = join(dir, "nested", "provider.key");
    const first = await loadOrCreateKeyFile(keyFile);
    expect(first.created).toBe(true);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const second = await loadOrCreateKeyFile(keyFile);
    expect(second.created).toBe(false);
    expect(second.account.address).toBe(first.account.address);
  });

  it("refuses a file that is not a key", async () => {
    const keyFile = join(dir, "provider.key");
    await writeFile(keyFile, "hello");
    await expect(loadOrCreateKeyFile(keyFile)).rejects.toThrow(/does not hold a 0x-prefixed 32-byte private key/);
  });
});
