// The data plane end to end, as users run it: `wrangler dev`, a provider
// daemon, the `pond` CLI, real WebRTC peers (node-datachannel) on loopback and
// the R2 relay. Inputs go peer to peer (or through the relay when the creator
// is not there to serve them), are checked against the spec before the job
// starts, and outputs come back peer to peer while the provider keeps them and
// from R2 once it is gone.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../protocol/job.ts";
import { TRANSFER_PROTOCOL_VERSION, type TransferManifest } from "../../protocol/transfer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { FsChunkSource } from "../../p2p/node/fsChunkSource.ts";
import { InputsServer } from "../../cli/dataplane/inputsServer.ts";
import { uploadToRelay } from "../../cli/dataplane/relayUpload.ts";
import { SignalingSocket } from "../../cli/dataplane/signalingSocket.ts";
import { PondClient } from "../../sdk/index.ts";
import { eventually } from "../helpers/eventually.ts";
import { shellJob } from "../helpers/jobs.ts";
import { startProvider, type ProviderProcess } from "../helpers/providerProcess.ts";
import { startWranglerDev, type WranglerDev } from "../helpers/wranglerDev.ts";
import { runPond } from "../helpers/pondCli.ts";
import { tsNode } from "../helpers/tsNode.ts";

const LOOPBACK = "127.0.0.1";

let dev: WranglerDev;
let provider: ProviderProcess;
let home: string;
let work: string;
let sdk: PondClient;

/** `pond …` as a user runs it; WebRTC candidates on loopback only (the only network tests may use). */
const pond = (args: string[], env: Record<string, string> = {}) =>
  runPond(args, { home, api: dev.url, env: { POND_WEBRTC_BIND_ADDRESS: LOOPBACK, POND_P2P_CONNECT_TIMEOUT_MS: "5000", ...env } });

/** Every process below `pid`, from /proc. */
function descendantsOf(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces, so read after its closing paren.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const below = (parent: number) => {
    for (const [child, ppid] of parentOf) {
      if (ppid !== parent) continue;
      found.push(child);
      below(child);
    }
  };
  below(pid);
  return found;
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

beforeAll(async () => {
  dev = await startWranglerDev();
  // 8 s to connect peer to peer before the relay: on loopback it takes well under one, but a full run on a
  // loaded machine saw the creator's answer come after the 4 s this had (the relay cases wait it out).
  provider = await startProvider(dev.url, ["--max-cpus", "2", "--max-memory-mb", "2048", "--webrtc-bind-address", LOOPBACK, "--p2p-connect-timeout-ms", "8000", "--input-wait-s", "60"]);
  home = await mkdtemp(join(tmpdir(), "pond-dataplane-home-"));
  work = await mkdtemp(join(tmpdir(), "pond-dataplane-"));
  expect((await pond(["login"])).code).toBe(0);
  const config = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { apiKey: string };
  sdk = new PondClient({ baseUrl: dev.url, apiKey: config.apiKey });
}, 240_000);

afterAll(async () => {
  await provider?.remove();
  await dev?.stop();
  for (const dir of [home, work]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe("inputs and outputs with the pond CLI", () => {
  it("sends a file and a folder peer to peer, the job checksums /inputs, and --output brings the outputs back peer to peer", async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(join(work, "big.bin"), big);
    await mkdir(join(work, "data", "sub"), { recursive: true });
    await writeFile(join(work, "data", "note.txt"), "from the creator\n");
    await writeFile(join(work, "data", "sub", "more.bin"), randomBytes(70_000));
    const out = join(work, "out-direct");
    const result = await pond([
      "run", "--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128", "--timeout", "60",
      "--input", join(work, "big.bin"), "--input", join(work, "data"), "--output", out,
      "--", "sh", "-c", "cd /inputs && find . -type f | sort | xargs sha256sum > /outputs/sums.txt && cp big.bin /outputs/copy.bin",
    ]);
    expect(result.code, result.stderr).toBe(0);
    const sums = await readFile(join(out, "sums.txt"), "utf8");
    expect(sums).toContain(`${sha256(big)}  ./big.bin`);
    expect(sums).toContain(`${sha256(Buffer.from("from the creator\n"))}  ./data/note.txt`);
    expect(sums).toContain(`${sha256(await readFile(join(work, "data", "sub", "more.bin")))}  ./data/sub/more.bin`);
    expect(sha256(await readFile(join(out, "copy.bin")))).toBe(sha256(big));
    const providerSaid = provider.process.output().split("\n").filter((line) => /inputs|peer/.test(line)).slice(-10).join("\n");
    expect(result.stdout, `${result.stderr}\n${providerSaid}`).toMatch(/inputs: peer to peer, direct/);
    expect(result.stdout).toMatch(/outputs: peer to peer, direct, .* first byte -?\d+ ms after the job ended/);
    const jobId = /job (job_[0-9a-z]+) succeeded/.exec(result.stdout)![1]!;
    const job = await eventually(async () => {
      const current = await sdk.getJob(jobId);
      return current.metrics.transfer.outputs !== null && current;
    });
    expect(job.spec.input_files!.map((file) => file.path).sort()).toEqual(["big.bin", "data/note.txt", "data/sub/more.bin"]);
    expect(job.metrics.transfer.inputs).toMatchObject({ route: "direct", bytes: big.length + 17 + 70_000 });
    expect(job.metrics.transfer.outputs).toMatchObject({ route: "direct" });
    console.log(`[dataplane] ${result.stdout.split("\n").filter((line) => / (inputs|outputs): /.test(line)).join(" | ")}`);
  });

  it("has the download's transfer processes started, on both sides, before the job ends (loading one is most of the wait for the first byte)", async () => {
    const out = join(work, "out-warm");
    const started = spawn(...tsNode("cli/main.ts", ["--api", dev.url, "run", "--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128", "--output", out, "--", "sh", "-c", "sleep 4; echo warm > /outputs/w.txt"]), {
      env: { ...process.env, POND_HOME: home, NO_COLOR: "1", POND_WEBRTC_BIND_ADDRESS: LOOPBACK },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    started.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
    started.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => started.once("exit", resolve));
    const transferProcesses = (pid: number) => descendantsOf(pid).filter((child) => commandOf(child).includes("transferProcess.ts"));
    // While the container runs: the CLI holds one for the download, the daemon a spare for its answer.
    const jobId = await eventually(async () => /job (job_[0-9a-z]+) queued/.exec(stderr)?.[1], { timeoutMs: 60_000, what: "the job to be queued" });
    await eventually(async () => (await sdk.getJob(jobId)).status === "processing" || undefined, { timeoutMs: 60_000, what: "the container to run" });
    expect(transferProcesses(started.pid!).length).toBeGreaterThan(0);
    expect(transferProcesses(provider.process.child.pid!).length).toBeGreaterThan(0);
    expect((await sdk.getJob(jobId)).status).toBe("processing");
    expect(await exited, stderr).toBe(0);
    expect(stdout).toMatch(/outputs: peer to peer, direct, .* first byte -?\d+ ms after the job ended/);
    expect(await readFile(join(out, "w.txt"), "utf8")).toBe("warm\n");
  });

  it("a creator who detaches leaves the inputs in the relay, and the job gets them from there", async () => {
    const bytes = randomBytes(2 * 1024 * 1024 + 5);
    await writeFile(join(work, "detached.bin"), bytes);
    const result = await pond(["--json", "run", "--detach", "--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128", "--input", join(work, "detached.bin"), "--", "sh", "-c", "sha256sum /inputs/detached.bin"]);
    expect(result.code, result.stderr).toBe(0);
    const created = JSON.parse(result.stdout) as Job;
    const done = await sdk.waitForJob(created.id, { timeoutMs: 90_000 });
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.logs).toContain(sha256(bytes));
    expect(done.metrics.transfer.inputs).toMatchObject({ route: "relay", bytes: bytes.length });
  });

  it("outputs come from R2 once the provider that kept them is gone", async () => {
    const created = await sdk.createJob(shellJob("head -c 300000 /dev/urandom > /outputs/r.bin"));
    const done = await sdk.waitForJob(created.id, { timeoutMs: 60_000 });
    expect(done.status).toBe("succeeded");
    const gone = await startProvider(dev.url, ["--webrtc-bind-address", LOOPBACK]);
    try {
      // The job's own provider answers nothing now: its offers go unanswered.
      await provider.stop("SIGKILL");
      const out = join(work, "out-r2");
      const result = await pond(["jobs", "download", done.id, "--output", out], { POND_P2P_CONNECT_TIMEOUT_MS: "2000" });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/outputs peer to peer: .*downloading from R2/);
      expect(result.stdout).toMatch(/outputs: through the API's relay \(R2\)/);
      expect(sha256(await readFile(join(out, "r.bin")))).toBe(done.output!.files[0]!.sha256);
      const job = await sdk.getJob(done.id);
      expect(job.metrics.transfer.outputs).toMatchObject({ route: "relay", bytes: 300_000 });
    } finally {
      await gone.remove();
      provider = await provider.restart();
    }
  });
});

describe("inputs the provider cannot get peer to peer, and inputs that lie", () => {
  /** A job whose input is `bytes` as `name`, created through the SDK (no CLI serving it). */
  async function jobWithInput(name: string, bytes: Uint8Array, specSha256 = sha256(bytes)) {
    const dir = await mkdtemp(join(work, "in-"));
    await writeFile(join(dir, name), bytes);
    const real = await buildTransferManifest(dir, [name]);
    const job = await sdk.createJob({ ...shellJob(`sha256sum /inputs/${name}`), input_files: [{ path: name, size: bytes.length, sha256: specSha256 }] });
    return { job, dir, real };
  }

  /** A creator on the job's signaling who never answers: what the provider sent it, by type. */
  async function silentCreator(jobId: string) {
    const socket = await SignalingSocket.open(dev.url, sdk.apiKey!, jobId);
    const offers: string[] = [];
    socket.subscribe((frame) => void ((frame.type === "offer" || frame.type === "leave") && offers.push(frame.type)));
    return { socket, offers };
  }

  async function uploadInputs(jobId: string, dir: string, manifest: TransferManifest): Promise<void> {
    const source = new FsChunkSource(dir);
    await uploadToRelay(sdk, jobId, manifest, source);
    await source.close();
  }

  async function expectSucceededFromRelay(jobId: string, bytes: Uint8Array): Promise<void> {
    const done = await sdk.waitForJob(jobId, { timeoutMs: 60_000 });
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.logs).toContain(sha256(bytes));
    expect(done.metrics.transfer.inputs).toMatchObject({ route: "relay" });
  }

  it("falls back to the relay when the creator never answers, saying it waits for the creator's inputs", async () => {
    const bytes = randomBytes(1024 * 1024 + 3);
    const { job, dir, real } = await jobWithInput("silent.bin", bytes);
    const { socket, offers } = await silentCreator(job.id);
    try {
      // Only once the provider gave up on us and asked for the relay.
      await eventually(async () => offers.includes("leave"), { timeoutMs: 60_000, what: "the provider asking for the relay" });
      expect(offers).toContain("offer");
      await eventually(async () => (await sdk.getJob(job.id)).status_detail === "waiting for the creator's inputs" || undefined, { timeoutMs: 30_000, what: "the wait to show" });
      await uploadInputs(job.id, dir, real);
    } finally {
      socket.close();
    }
    await expectSucceededFromRelay(job.id, bytes);
  });

  it("kills the daemon's transfer process when it stops responding (a wedged connection), and the job gets its inputs from the relay", async () => {
    const bytes = randomBytes(512 * 1024 + 9);
    const { job, dir, real } = await jobWithInput("frozen.bin", bytes);
    // Present, so the daemon's offer waits out its connect timeout, but never answering.
    const { socket, offers } = await silentCreator(job.id);
    try {
      await eventually(async () => offers.includes("offer"), { timeoutMs: 60_000, what: "the provider's offer" });
      // SIGSTOP stands in for the libdatachannel deadlock: the process neither beats nor times out. The daemon
      // keeps a spare transfer process, started as the fetch took the one before it: the fetch's is the older.
      const [transferPid] = await eventually(async () => {
        const found = descendantsOf(provider.process.child.pid!).filter((pid) => commandOf(pid).includes("transferProcess.ts"));
        return found.length > 1 ? found.sort((a, b) => a - b) : undefined;
      }, { timeoutMs: 10_000, what: "the daemon's transfer process and its spare" });
      process.kill(transferPid!, "SIGSTOP");
      await eventually(async () => offers.includes("leave"), { timeoutMs: 60_000, what: "the provider asking for the relay" });
      expect(descendantsOf(provider.process.child.pid!)).not.toContain(transferPid);
      expect(provider.process.output()).toMatch(/stopped responding for \d+ ms/);
      await uploadInputs(job.id, dir, real);
    } finally {
      socket.close();
    }
    await expectSucceededFromRelay(job.id, bytes);
  });

  it("fails the job naming the file when a creator serves peer to peer bytes that are not what the spec says", async () => {
    const bytes = randomBytes(1024 * 1024);
    const claimed = sha256(randomBytes(32));
    const { job, dir, real } = await jobWithInput("lie.bin", bytes, claimed);
    // The chunk list matches the bytes sent; only the whole file betrays them.
    const lying: TransferManifest = { v: TRANSFER_PROTOCOL_VERSION, files: [{ ...real.files[0]!, sha256: claimed }] };
    const socket = await SignalingSocket.open(dev.url, sdk.apiKey!, job.id);
    const rootOf = new Map([["lie.bin", dir]]);
    // On a machine loaded enough that the peer connection misses the daemon's connect timeout, the daemon asks
    // for the relay: the same lie goes there (otherwise the job would wait out --input-wait-s), and is caught there.
    let relayed: Promise<void> | undefined;
    const onRelayWanted = () => {
      if (relayed) return;
      relayed = uploadInputs(job.id, dir, lying);
      // Awaited below; meanwhile a failure is not an unhandled rejection.
      relayed.catch(() => undefined);
    };
    const server = new InputsServer({ socket, jobId: job.id, manifest: lying, rootOf, iceServers: [], connectTimeoutMs: 10_000, bindAddress: LOOPBACK, onRelayWanted });
    try {
      const done = await sdk.waitForJob(job.id, { timeoutMs: 60_000 });
      expect(done.status).toBe("failed");
      expect(done.error).toMatch(/"lie\.bin"/);
      if (relayed) {
        console.warn("the peer connection missed the daemon's connect timeout: the lie was caught on the relay instead");
        await relayed;
        expect(done.error).toMatch(/not [0-9a-f]{64} as the spec says/);
      } else expect(done.error).toMatch(/do not match the spec/);
    } finally {
      server.close();
      socket.close();
    }
  });

  it("fails the job naming the file when the relay holds chunks of other bytes than the spec's", async () => {
    const bytes = randomBytes(1024 * 1024 + 100);
    const other = randomBytes(bytes.length);
    const { job, dir } = await jobWithInput("swapped.bin", bytes);
    await writeFile(join(dir, "swapped.bin"), other);
    const otherManifest = await buildTransferManifest(dir, ["swapped.bin"]);
    // The spec's path, size and sha256, but the chunks of other bytes.
    const lying: TransferManifest = { v: TRANSFER_PROTOCOL_VERSION, files: [{ ...otherManifest.files[0]!, sha256: sha256(bytes) }] };
    // Nobody answers the provider peer to peer: it goes to the relay.
    const source = new FsChunkSource(dir);
    await uploadToRelay(sdk, job.id, lying, source);
    await source.close();
    const done = await sdk.waitForJob(job.id, { timeoutMs: 60_000 });
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/input file "swapped\.bin" has sha256 [0-9a-f]{64}, not [0-9a-f]{64} as the spec says/);
  });

  it("keeps what it verified through a daemon restart and fetches only the rest", async () => {
    const chunk = 1024 * 1024;
    const bytes = randomBytes(4 * chunk);
    const { job, real } = await jobWithInput("resumed.bin", bytes);
    const file = real.files[0]!;
    // Half the chunks in the relay: the provider stores those and waits for the rest.
    await sdk.data.uploadInputManifest(job.id, real);
    for (const index of [0, 1]) await sdk.data.uploadInputChunk(job.id, file.chunks[index]!, bytes.subarray(index * chunk, (index + 1) * chunk));
    await eventually(async () => /receiving inputs: 50% of 4\.0 MiB, relay/.test(provider.process.output()), { timeoutMs: 60_000, what: "half the input stored" });
    await provider.stop("SIGKILL");
    provider = await provider.restart();
    for (const index of [2, 3]) await sdk.data.uploadInputChunk(job.id, file.chunks[index]!, bytes.subarray(index * chunk, (index + 1) * chunk));
    const done = await sdk.waitForJob(job.id, { timeoutMs: 90_000 });
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.logs).toContain(sha256(bytes));
    // Only what was missing crossed after the restart.
    expect(done.metrics.transfer.inputs).toMatchObject({ route: "relay", bytes: 2 * chunk });
  });

  it("refuses a relay manifest whose files are not the spec's", async () => {
    const { job, dir } = await jobWithInput("real.bin", randomBytes(1000));
    await writeFile(join(dir, "other.bin"), randomBytes(1000));
    const wrong = await buildTransferManifest(dir, ["other.bin"]);
    await expect(sdk.data.uploadInputManifest(job.id, wrong)).rejects.toMatchObject({ status: 422 });
    await sdk.cancelJob(job.id);
  });
});
