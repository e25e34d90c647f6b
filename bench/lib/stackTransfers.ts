// bench:transfer's figures that need the whole local stack (wrangler dev with
// its local R2, a provider daemon on Docker, the CLI's own transfer code):
// - the R2 relay path: the creator uploads a job's input file to the relay
//   (chunks keyed by sha256), then the provider fetches it from there. The job
//   is created before any provider is connected, so the upload is over before
//   the fetch starts and each is timed alone; the provider times its fetch and
//   reports it in the job's metrics.transfer.inputs.
// - the first output byte, on the path users take: `pond run --output` in a
//   process of its own (signed in as a new user), following the job's log to
//   its end and then fetching the outputs peer to peer; it prints when the first
//   data frame came after the job's completed_at. A few runs, each its own job.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { collectInputs } from "../../cli/dataplane/inputFiles.ts";
import { uploadToRelay } from "../../cli/dataplane/relayUpload.ts";
import type { TransferMeasure } from "../../protocol/transferMetrics.ts";
import { PondClient } from "../../sdk/index.ts";
import { docker, TEST_IMAGE } from "../../test/helpers/docker.ts";
import { shellJob } from "../../test/helpers/jobs.ts";
import { startProvider, type ProviderProcess } from "../../test/helpers/providerProcess.ts";
import { startWranglerDev } from "../../test/helpers/wranglerDev.ts";
import { tsNode } from "../../test/helpers/tsNode.ts";

const MiB = 1024 * 1024;
const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");

export interface StackFigures {
  relay: { bytes: number; uploadMs: number; fetch: TransferMeasure };
  /** The median run's download and first byte; every run's first byte too. */
  outputs: { bytes: number; download: TransferMeasure; firstByteMs: number; firstByteRunsMs: number[] };
}

/** Why the stack figures cannot be measured here, or undefined when they can. */
export async function stackUnavailable(): Promise<string | undefined> {
  try {
    await docker.ping();
    return undefined;
  } catch {
    return "no Docker engine answers (bash scripts/bootstrap.sh starts one)";
  }
}

export async function measureThroughStack({ inputFile, outputMiB, outputRuns = 3 }: { inputFile: string; outputMiB: number; outputRuns?: number }): Promise<StackFigures> {
  const dev = await startWranglerDev();
  let provider: ProviderProcess | undefined;
  const work = await mkdtemp(join(tmpdir(), "pond-bench-stack-"));
  try {
    const client = new PondClient({ baseUrl: dev.url });
    await client.signIn(privateKeyToAccount(generatePrivateKey()));
    const inputs = await collectInputs([inputFile]);
    const name = inputs.specFiles[0]!.path;
    const inputJob = await client.createJob({ ...shellJob(`sha256sum /inputs/${name}`, { timeout_s: 600 }), input_files: inputs.specFiles });
    const uploaded = await uploadToRelay(client, inputJob.id, inputs.manifest, inputs.source);
    await inputs.source.close();
    provider = await startProvider(dev.url, ["--webrtc-bind-address", "127.0.0.1", "--max-memory-mb", "2048", "--max-output-bytes", String((outputMiB + 16) * MiB)]);
    const fetched = await client.waitForJob(inputJob.id, { timeoutMs: 600_000 });
    if (fetched.status !== "succeeded" || !fetched.metrics.transfer.inputs) throw new Error(`the relay job ended ${fetched.status} (${fetched.error ?? fetched.status_detail ?? "no detail"}) with no inputs transfer reported`);

    const runs: Array<TransferMeasure & { firstByteMs: number }> = [];
    for (let round = 0; round < outputRuns; round++) runs.push(await outputsThroughCli(dev.url, work, outputMiB, round));
    const median = [...runs].sort((a, b) => a.firstByteMs - b.firstByteMs)[Math.floor(runs.length / 2)]!;
    const { firstByteMs, ...measure } = median;
    return {
      relay: { bytes: uploaded.bytes, uploadMs: uploaded.ms, fetch: fetched.metrics.transfer.inputs },
      outputs: { bytes: outputMiB * MiB, download: measure, firstByteMs, firstByteRunsMs: runs.map((one) => one.firstByteMs) },
    };
  } finally {
    await provider?.remove();
    await dev.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** `pond run --output` as a user runs it, in a home of its own; how its outputs came, from the lines it prints at the end. */
async function outputsThroughCli(api: string, work: string, outputMiB: number, round: number): Promise<TransferMeasure & { firstByteMs: number }> {
  const home = join(work, `cli-home-${round}`);
  // Candidates on loopback only, as everything here.
  const env = { ...process.env, POND_HOME: home, NO_COLOR: "1", POND_WEBRTC_BIND_ADDRESS: "127.0.0.1" };
  const pond = (args: string[]) => run(...tsNode(join(root, "cli", "main.ts"), ["--api", api, ...args]), { env, cwd: root, timeout: 600_000, maxBuffer: 64 * MiB });
  await pond(["login"]);
  const { stdout, stderr } = await pond(["run", "--image", TEST_IMAGE, "--cpus", "0.5", "--memory", "256", "--timeout", "600", "--output", join(work, `outputs-${round}`), "--", "sh", "-c", `head -c ${outputMiB * MiB} /dev/urandom > /outputs/result.bin`]);
  const line = /outputs: peer to peer, (direct|through TURN), ([\d.]+) MiB in (\d+) ms.*; first byte (-?\d+) ms after the job ended/.exec(stdout);
  if (!line) throw new Error(`pond run did not fetch the outputs peer to peer:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
  return { route: line[1] === "direct" ? "direct" : "turn", bytes: Math.round(Number(line[2]) * MiB), ms: Number(line[3]), firstByteMs: Number(line[4]) };
}
