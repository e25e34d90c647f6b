// The fleet benchmark's simulated provider (bench/fleet/simProvider.ts) is the real
// daemon with only its container replaced, so that it cannot drift from what a
// provider does. This runs a few of them through real wrangler dev: a daemon change
// the simulation does not follow fails here, not in a benchmark run nobody reads
// (one did: the daemon began making containers during the accept, and every
// simulated provider failed its accepts until this test was written).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimProvider } from "../../bench/fleet/simProvider.ts";
import { PondClient } from "../../sdk/index.ts";
import { eventually } from "../helpers/eventually.ts";
import { startWranglerDev, type WranglerDev } from "../helpers/wranglerDev.ts";

const RUN_MS = 200;
const JOBS = 6;

let dev: WranglerDev;
let root: string;
const providers: SimProvider[] = [];
/** Every warning or error the simulated daemons logged. */
const problems: string[] = [];

beforeAll(async () => {
  dev = await startWranglerDev();
  root = await mkdtemp(join(tmpdir(), "pond-fleet-sim-"));
  const log = pino({ level: "warn", base: null }, { write: (line: string) => void problems.push(line) });
  for (let i = 0; i < 3; i++) {
    const provider = new SimProvider({
      api: dev.url,
      account: privateKeyToAccount(generatePrivateKey()),
      dataDir: join(root, `p${i}`),
      runMs: RUN_MS,
      resources: { cpus: 4, memory_mb: 8_192, disk_free_mb: 10_000, gpus: [] },
      pricing: { gpu_second_wei: "0", cpu_second_wei: "1000" },
      log,
    });
    provider.start();
    providers.push(provider);
  }
  await eventually(async () => providers.every((provider) => provider.welcomes > 0), { timeoutMs: 30_000, what: "every simulated provider signed in" });
}, 120_000);

afterAll(async () => {
  await Promise.all(providers.map((provider) => provider.stop(5_000)));
  await dev?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("the fleet's simulated providers", () => {
  it("take, run and finish jobs through the real hub as the daemon does: signed results, their output uploaded and served", async () => {
    const client = new PondClient({ baseUrl: dev.url });
    await client.signIn(privateKeyToAccount(generatePrivateKey()));
    const spec = { image: "pond-test/sim:1", cmd: ["true"], resources: { gpus: 0, cpus: 1, memory_mb: 128 }, timeout_s: 30, max_price_wei: "1000000000000000000" };
    const created = await Promise.all(Array.from({ length: JOBS }, () => client.createJob(spec)));
    const ended = await Promise.all(created.map((job) => client.waitForJob(job.id, { timeoutMs: 60_000, intervalMs: 200 })));

    const simulated = new Set(providers.map((provider) => provider.address));
    for (const job of ended) {
      expect(job.status, `${job.id}: ${job.error ?? job.status_detail}`).toBe("succeeded");
      expect(simulated.has(job.provider!)).toBe(true);
      // The file the simulated run wrote, hashed and delivered by the daemon's own code, read back through the API.
      const output = new TextDecoder().decode(await client.downloadOutput(job.id, "result.txt"));
      expect(output).toContain(`${job.id} ran for`);
      expect(output).toContain(job.provider!);
    }
    expect(problems).toEqual([]);
  });
});
