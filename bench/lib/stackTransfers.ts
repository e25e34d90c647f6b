// bench:transfer's figures that need the whole local stack (wrangler dev with
// its local R2, a provider daemon on Docker, the CLI's own transfer code):
// - the R2 relay path: the creator uploads a job's input file to the relay
//   (chunks keyed by sha256), then the provider fetches it from there. The job
//   is created before any provider is connected, so the upload is over before
//   the fetch starts and each is timed alone; the provider times its fetch and
//   reports it in the job's metrics.transfer.inputs.
// - the first output byte: a job writes its outputs; once the creator sees it
//   succeeded, `pond run --output`'s download code fetches them peer to peer,
//   and the first data frame's arrival is compared with the job's completed_at.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { collectInputs } from "../../cli/dataplane/inputFiles.ts";
import { fetchOutputs } from "../../cli/dataplane/outputsDownload.ts";
import { uploadToRelay } from "../../cli/dataplane/relayUpload.ts";
import { createProgress } from "../../cli/progress.ts";
import type { TransferMeasure } from "../../protocol/transferMetrics.ts";
import { PondClient } from "../../sdk/index.ts";
import { docker } from "../../test/helpers/docker.ts";
import { shellJob } from "../../test/helpers/jobs.ts";
import { startProvider, type ProviderProcess } from "../../test/helpers/providerProcess.ts";
import { startWranglerDev } from "../../test/helpers/wranglerDev.ts";

const MiB = 1024 * 1024;

export interface StackFigures {
  relay: { bytes: number; uploadMs: number; fetch: TransferMeasure };
  outputs: { bytes: number; download: TransferMeasure; firstByteMs: number; sawEndMs: number };
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

export async function measureThroughStack({ inputFile, outputMiB }: { inputFile: string; outputMiB: number }): Promise<StackFigures> {
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

    const outputJob = await client.createJob(shellJob(`head -c ${outputMiB * MiB} /dev/urandom > /outputs/result.bin`, { timeout_s: 600 }));
    const done = await client.waitForJob(outputJob.id, { timeoutMs: 600_000, intervalMs: 50 });
    const sawEndAt = Date.now();
    if (done.status !== "succeeded" || !done.completed_at) throw new Error(`the outputs job ended ${done.status}`);
    const notes: string[] = [];
    const download = await fetchOutputs(client, { enabled: true, connectTimeoutMs: 5000, bindAddress: "127.0.0.1" }, done, join(work, "outputs"), createProgress(process.stderr, false), (text) => notes.push(text));
    if (!download.transfer || download.transfer.firstByteMs === undefined) throw new Error(`the outputs did not come peer to peer: ${notes.join("; ") || "no reason given"}`);
    const { firstByteMs, ...measure } = download.transfer;
    return {
      relay: { bytes: uploaded.bytes, uploadMs: uploaded.ms, fetch: fetched.metrics.transfer.inputs },
      outputs: { bytes: outputMiB * MiB, download: measure, firstByteMs, sawEndMs: sawEndAt - Date.parse(done.completed_at) },
    };
  } finally {
    await provider?.remove();
    await dev.stop();
    await rm(work, { recursive: true, force: true });
  }
}
