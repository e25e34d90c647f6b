// Warm providers end to end: wrangler dev, two real provider daemons, the pond
// CLI and real WebRTC peers on loopback. A job's input file is kept in its
// provider's cache and advertised; the same job again goes to that provider
// (though the other is cheaper and free) and moves no bytes (route "cache");
// a cached file damaged on disk is dropped, fetched again, and the job is unharmed.
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PondClient } from "../../sdk/index.ts";
import { TEST_IMAGE } from "../helpers/docker.ts";
import { startProvider, type ProviderProcess } from "../helpers/providerProcess.ts";
import { startWranglerDev, type WranglerDev } from "../helpers/wranglerDev.ts";
import { runPond } from "../helpers/pondCli.ts";

const LOOPBACK = "127.0.0.1";
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
/** A route that moved the bytes: peer to peer, or the relay when the peer connection is slow to come up on a loaded machine. */
const MOVED = expect.stringMatching(/^(direct|turn|relay)$/);
const providerFlags = (cpuSecondWei: string) => ["--max-cpus", "1", "--max-memory-mb", "1024", "--cpu-second-wei", cpuSecondWei, "--input-cache-mb", "64", "--webrtc-bind-address", LOOPBACK, "--p2p-connect-timeout-ms", "4000", "--input-wait-s", "60"];

let dev: WranglerDev;
let pricey: ProviderProcess;
let cheap: ProviderProcess | undefined;
let home: string;
let work: string;
let sdk: PondClient;

const pond = (args: string[]) => runPond(args, { home, api: dev.url, env: { POND_WEBRTC_BIND_ADDRESS: LOOPBACK, POND_P2P_CONNECT_TIMEOUT_MS: "5000" } });

/** The job that checksums its input: run with the CLI, its sum brought back; the job as the API has it after. */
async function checksumJob(input: string, out: string) {
  const result = await pond(["run", "--image", TEST_IMAGE, "--cpus", "0.5", "--memory", "128", "--timeout", "60", "--input", input, "--output", out, "--", "sh", "-c", "sha256sum /inputs/data.bin > /outputs/sum.txt"]);
  expect(result.code, `${result.stderr}\n${result.stdout}`).toBe(0);
  const jobId = /job (job_[0-9a-z]+) succeeded/.exec(result.stdout)![1]!;
  return { job: await sdk.getJob(jobId), sum: (await readFile(join(out, "sum.txt"), "utf8")).split(" ")[0] };
}

beforeAll(async () => {
  dev = await startWranglerDev();
  // The dearer provider alone at first, so the first job is sure to land there.
  pricey = await startProvider(dev.url, providerFlags("3000000000"));
  home = await mkdtemp(join(tmpdir(), "pond-warm-home-"));
  work = await mkdtemp(join(tmpdir(), "pond-warm-"));
  expect((await pond(["login"])).code).toBe(0);
  const config = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { apiKey: string };
  sdk = new PondClient({ baseUrl: dev.url, apiKey: config.apiKey });
}, 240_000);

afterAll(async () => {
  await pricey?.remove();
  await cheap?.remove();
  await dev?.stop();
  for (const dir of [home, work]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe("a provider that holds a job's input", () => {
  it("gets the repeat job over a cheaper free provider, moves no bytes, and fetches again a cached file damaged on disk", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 11);
    const input = join(work, "data.bin");
    await writeFile(input, data);

    const first = await checksumJob(input, join(work, "out-1"));
    expect(first.job.provider).toBe(pricey.address);
    expect(first.sum).toBe(sha256(data));
    expect(first.job.metrics.transfer.inputs).toMatchObject({ route: MOVED, bytes: data.length });
    expect(first.job.metrics.transfer.image).toMatchObject({ warm: true });
    // Its cache now holds the file, and the hub has heard so (the CLI's next start takes seconds more).
    await pricey.process.waitFor(/"inputs":[1-9][0-9]*,"msg":"told the hub what is warm here"/, 30_000);

    cheap = await startProvider(dev.url, providerFlags("1000000000"));
    const repeat = await checksumJob(input, join(work, "out-2"));
    expect(repeat.job.provider, "the repeat job went to the provider without the file").toBe(pricey.address);
    expect(repeat.sum).toBe(sha256(data));
    expect(repeat.job.metrics.transfer.inputs).toMatchObject({ route: "cache", bytes: 0, cached_bytes: data.length });

    // Control: a job with a file no one holds goes to the cheaper provider.
    const other = join(work, "other.bin");
    await writeFile(other, randomBytes(1000));
    const cold = await pond(["run", "--image", TEST_IMAGE, "--cpus", "0.5", "--memory", "128", "--timeout", "60", "--input", other, "--", "true"]);
    expect(cold.code, cold.stderr).toBe(0);
    expect((await sdk.getJob(/job (job_[0-9a-z]+) succeeded/.exec(cold.stdout)![1]!)).provider).toBe(cheap.address);

    // One byte of the cached file flipped in place on the provider's disk: same size, same inode.
    const cached = join(pricey.dataDir, "cache", "inputs", sha256(data));
    const damaged = Buffer.from(data);
    damaged[12345] = damaged[12345]! ^ 0xff;
    await writeFile(cached, damaged, { flag: "r+" });
    const afterDamage = await checksumJob(input, join(work, "out-3"));
    expect(afterDamage.job.provider).toBe(pricey.address);
    expect(afterDamage.sum, "the job read the damaged bytes").toBe(sha256(data));
    expect(afterDamage.job.metrics.transfer.inputs).toMatchObject({ route: MOVED, bytes: data.length });
    expect(pricey.process.output()).toMatch(/a cached input \(or its chunk record\) changed on disk since it was verified; dropped, to be fetched again/);
    // Kept again, intact, for the next job.
    expect(sha256(await readFile(cached))).toBe(sha256(data));
  });
});
