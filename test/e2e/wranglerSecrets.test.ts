// `wrangler dev` as the tests and `npm start` run it: its secrets reach the
// Worker, yet no process it starts carries one on its command line, which `ps`
// shows to every user of the machine.
import { readdir, readFile, stat } from "node:fs/promises";
import { keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, TEST_SECRETS_KEY, type WranglerDev } from "../helpers/wranglerDev.ts";

const RELAYER_KEY = keccak256(stringToHex("pond-test-account:wrangler-secrets"));
let dev: WranglerDev;

beforeAll(async () => {
  dev = await startWranglerDev({ RELAYER_PRIVATE_KEY: RELAYER_KEY });
});
afterAll(() => dev?.stop());

/** Command lines of every process in the process group wrangler dev was started in (workerd and all). */
async function commandLinesOfGroup(groupId: number): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so read after its ")".
      const fields = (await readFile(`/proc/${entry}/stat`, "utf8")).split(") ")[1]!.split(" ");
      if (Number(fields[2]) !== groupId) continue;
      lines.push((await readFile(`/proc/${entry}/cmdline`, "utf8")).replaceAll("\0", " "));
    } catch {
      // The process ended while we looked: it has no command line left to show.
    }
  }
  return lines;
}

describe("wrangler dev's secrets", () => {
  it("reach the Worker", async () => {
    const chain = (await (await fetch(`${dev.url}/v1/chain`)).json()) as { relayer_address: string | null };
    expect(chain.relayer_address).toBe(privateKeyToAccount(RELAYER_KEY).address.toLowerCase());
  });

  it("are on no command line of wrangler or the processes it started", async () => {
    const lines = await commandLinesOfGroup(dev.process.child.pid!);
    // wrangler itself and workerd at least: the scan found the processes it was meant to look at.
    expect(lines.some((line) => /wrangler/.test(line))).toBe(true);
    expect(lines.some((line) => /workerd/.test(line))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain(RELAYER_KEY.slice(2));
      expect(line).not.toContain(TEST_SECRETS_KEY);
    }
    expect(lines.some((line) => line.includes("--env-file"))).toBe(true);
  });

  it("sit in a file only its owner can read", async () => {
    const lines = await commandLinesOfGroup(dev.process.child.pid!);
    const file = /--env-file (\S+)/.exec(lines.find((line) => line.includes("--env-file"))!)![1]!;
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, "utf8")).toContain(RELAYER_KEY);
  });
});
