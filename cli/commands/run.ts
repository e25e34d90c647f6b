// `pond run`: a job from a template (`pond run pond/echo@1.0.0 -p message=hi`)
// or from an image (`pond run --image busybox -- echo hi`), followed to its end.
import type { Command } from "commander";
import type { Job } from "../../protocol/job.ts";
import { JobSpec, specOfRequest, type CreateJobRequest, type InputFile } from "../../protocol/jobSpec.ts";
import type { Template } from "../../protocol/template.ts";
import { MAX_BODY_BYTES } from "../../protocol/limits.ts";
import type { PondClient } from "../../sdk/index.ts";
import { decimal, integer, pairs, repeated, type CliContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { exitCodes } from "../exitCodes.ts";
import { followLogs } from "../followLogs.ts";
import { CreatorInputs } from "../dataplane/creatorInputs.ts";
import { collectInputs } from "../dataplane/inputFiles.ts";
import { inputsFromJobs, splitInputArguments } from "../dataplane/jobInputs.ts";
import { fetchOutputs, warmUp, type OutputsDownload } from "../dataplane/outputsDownload.ts";
import { howDataMoved } from "../dataplane/transferSummary.ts";
import { percentIn } from "../progress.ts";
import { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import { formatEther } from "viem";
import { describeEgress } from "../egressSummary.ts";
import { secretValuesOf } from "../secretArguments.ts";
import { terminalText } from "../terminalText.ts";

interface RunOptions {
  image?: string;
  param?: string[];
  gpus: number;
  vram?: number;
  gpuModel?: string[];
  cpus: number;
  memory: number;
  timeout: number;
  maxPrice?: string;
  env?: string[];
  secret?: string[];
  allowHost?: string[];
  webhook?: string;
  output?: string;
  input?: string[];
  detach?: boolean;
  wait: boolean;
}

export function registerRun(program: Command, ctx: () => CliContext): void {
  program
    .command("run")
    .description("run a template (owner/name@version) or an image, wait for it, and print its logs")
    .argument("[template-or-cmd...]", "a template ref, or with --image the command to run")
    .option("--image <ref>", "run this container image instead of a template")
    .option("-p, --param <KEY=VALUE>", "a template parameter (repeatable)", repeated)
    .option("--gpus <n>", "GPUs", integer, 0)
    .option("--vram <mb>", "VRAM per GPU, MiB", integer)
    .option("--gpu-model <name>", "only GPUs whose model contains this, any case, e.g. H100 (repeatable: any of them; needs --gpus)", repeated)
    .option("--cpus <n>", "CPUs", decimal, 1)
    .option("--memory <mb>", "memory, MiB", integer, 1024)
    .option("--timeout <s>", "timeout, seconds", integer, 600)
    .option("--max-price <wei>", "the most you will pay, in wei (a template has its own default)")
    .option("--env <KEY=VALUE>", "an environment variable (repeatable)", repeated)
    .option(
      "--secret <NAME[=VALUE]>",
      "a secret variable (a model hub's token): NAME takes its value from your environment, NAME=VALUE as given; set in the job like --env, but stored sealed, sent only to the provider that runs the job, masked in its log, and never shown again (repeatable)",
      repeated,
    )
    .option("--allow-host <host>", "a host the job may reach over HTTP(S) through its provider's egress proxy: name, name:port or *.domain (repeatable; only providers offering egress take the job)", repeated)
    .option("--webhook <url>", "where to send this job's signed webhooks")
    .option(
      "--input <path>",
      "a file or folder the job finds at /inputs/<name>, sent peer to peer (or through the relay) and checked by sha256; or job_…:PATH (that output of an earlier job of yours) or job_… (all its outputs), which the provider fetches from that job's outputs (repeatable)",
      repeated,
    )
    .option("--output <dir>", "download the outputs into this folder when the job ends, peer to peer or from R2 (each sha256 checked)")
    .option("--detach", "return once the job is queued, printing its id")
    .option("--no-wait", "the same as --detach")
    .action(async (args: string[], options: RunOptions) => {
      const c = ctx();
      // Loading a transfer process takes long on a loaded machine: one starts now, to be ready when the job ends.
      const downloader = options.output && c.p2p.enabled && !options.detach && options.wait ? new SpareTransferProcesses({ refill: false }) : undefined;
      const sdk = await c.client();
      const wallet = await c.wallet();
      const { local, fromJobs } = await splitInputArguments(options.input ?? []);
      const jobFiles = await inputsFromJobs(sdk, fromJobs);
      if (local.length) c.output.note(`[pond: hashing ${local.length} input${local.length === 1 ? "" : "s"}]`);
      const inputs = local.length ? await collectInputs(local) : undefined;
      const specFiles = [...(inputs?.specFiles ?? []), ...jobFiles];
      refuseRepeatedInputPaths(specFiles);
      const job = options.image ? await runImage(sdk, wallet, args, options, specFiles) : await runTemplate(sdk, wallet, args, options, specFiles);
      c.output.note(`job ${job.id} queued${job.template ? ` (${job.template})` : ""}`);
      for (const file of jobFiles) c.output.note(`[pond: /inputs/${file.path} comes from ${file.from!.job}'s outputs; the provider fetches it from there]`);
      const sending = inputs ? new CreatorInputs(sdk, inputs, job.id, c.progress, (text) => c.output.note(text)) : undefined;
      if (options.detach || !options.wait) {
        // Nobody stays to serve them peer to peer: they go to the relay before this returns.
        await sending?.toRelay("detached");
        await sending?.finish();
        return c.output.result(job, (j) => j.id);
      }
      await sending?.serve(c.p2p);
      const warm = options.output ? await warmUp(sdk, c.p2p, job.id, downloader) : undefined;

      let lastDetail: string | null = null;
      const done = await followLogs(sdk, job.id, {
        write: (text) => {
          if (!c.output.json) process.stdout.write(text);
        },
        onReconnect: () => c.output.note("\n[pond: the log stream dropped; reconnecting]"),
        onStatus: (current) => {
          const percent = percentIn(current.status_detail);
          if (current.status === "starting" && percent !== undefined) c.progress.update(current.status_detail?.startsWith("receiving inputs") ? "provider receiving inputs" : "pulling the image", percent, 100);
          else if (current.status_detail && current.status_detail !== lastDetail) c.output.note(`[pond: ${terminalText(current.status_detail)}]`);
          lastDetail = current.status_detail;
        },
      });
      // An upload the provider asked for ends while the outputs come.
      const finishing = sending?.finish();
      const download = options.output && done.status === "succeeded" ? await fetchOutputs(sdk, c.p2p, done, options.output, c.progress, (text) => c.output.note(text), warm) : undefined;
      warm?.close();
      await finishing;
      // Read again: the provider's and this download's transfer reports land after the job ends.
      const final = done.spec.input_files?.length || download ? await sdk.getJob(done.id) : done;
      c.output.result(final, (j) => summary(j, options.output, download));
      if (done.status !== "succeeded") process.exitCode = exitCodes.jobUnsuccessful;
    });
}

/** What createPaidJob adds to the request: the EIP-712 authorization and its fields. */
const AUTHORIZATION_MARGIN_BYTES = 2048;

async function runImage(sdk: PondClient, wallet: Awaited<ReturnType<CliContext["wallet"]>>, cmd: string[], options: RunOptions, inputFiles?: InputFile[]): Promise<Job> {
  if (options.param?.length) throw new UsageError("-p sets a template's parameters: give a template ref instead of --image, or pass the values with --env");
  const secrets = secretValuesOf(options.secret);
  const request: CreateJobRequest = {
    image: options.image!,
    ...(cmd.length > 0 ? { cmd } : {}),
    ...(options.env ? { env: pairs(options.env, "--env") } : {}),
    ...(secrets ? { secrets: Object.keys(secrets), secret_values: secrets } : {}),
    ...(inputFiles?.length ? { input_files: inputFiles } : {}),
    resources: {
      gpus: options.gpus,
      cpus: options.cpus,
      memory_mb: options.memory,
      ...(options.vram ? { gpu_vram_mb: options.vram } : {}),
      ...(options.gpuModel?.length ? { gpu_models: options.gpuModel } : {}),
    },
    timeout_s: options.timeout,
    max_price_wei: options.maxPrice ?? "1000000000000000",
    ...(options.webhook ? { webhook: options.webhook } : {}),
    ...(options.allowHost?.length ? { network: { allow: options.allowHost } } : {}),
  };
  const spec = JobSpec.safeParse(specOfRequest(request));
  if (!spec.success) throw new UsageError(spec.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n"));
  refuseOversizedRequest(request, inputFiles);
  return sdk.createPaidJob(request, wallet);
}

/** Two inputs that would land at one /inputs path: a local one and another job's output, or two jobs' outputs. */
function refuseRepeatedInputPaths(files: readonly InputFile[]): void {
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new UsageError(`two --input values land at /inputs/${file.path}: keep one (or rename the local one)`);
    seen.add(file.path);
  }
}

/** The API reads at most MAX_BODY_BYTES; the authorization adds well under the margin. Refused here, saying what to do, rather than by a 413. */
function refuseOversizedRequest(request: object, inputFiles: InputFile[] | undefined): void {
  const bytes = new TextEncoder().encode(JSON.stringify(request)).byteLength + AUTHORIZATION_MARGIN_BYTES;
  if (bytes > MAX_BODY_BYTES) {
    const listed = inputFiles?.length ? ` (${inputFiles.length} --input files, each listed with its path and sha256)` : "";
    throw new UsageError(`this job's request would be about ${bytes} bytes${listed}; the API takes at most ${MAX_BODY_BYTES}. Pack many small files into one archive (tar) and send that as the --input`);
  }
}

async function runTemplate(sdk: PondClient, wallet: Awaited<ReturnType<CliContext["wallet"]>>, args: string[], options: RunOptions, inputFiles?: InputFile[]): Promise<Job> {
  const [ref, ...rest] = args;
  if (!ref) throw new UsageError("say what to run: a template (pond run owner/name@1.0.0 -p key=value) or an image (pond run --image busybox -- echo hi)");
  if (rest.length > 0) throw new UsageError(`a template brings its own command; drop "${rest.join(" ")}" or use --image`);
  if (options.allowHost?.length) throw new UsageError("a template declares the hosts its runs may reach (pond templates show lists them): drop --allow-host, or use --image");
  if (options.gpuModel?.length) throw new UsageError("a template declares the resources its runs use (pond templates show lists them): drop --gpu-model, or use --image");
  const template = await sdk.getTemplate(ref);
  const secrets = templateSecrets(template, options.secret);
  const choices = {
    params: typedParams(template, pairs(options.param, "-p")),
    ...(secrets ? { secret_values: secrets } : {}),
    ...(options.maxPrice ? { max_price_wei: options.maxPrice } : {}),
    ...(options.webhook ? { webhook: options.webhook } : {}),
    ...(inputFiles?.length ? { input_files: inputFiles } : {}),
  };
  refuseOversizedRequest(choices, inputFiles);
  return sdk.runTemplate(template.ref, choices, wallet);
}

/** The values of the secrets a template names, from `--secret`: each one it names, and no other. */
function templateSecrets(template: Pick<Template, "ref" | "secrets">, raw: string[] | undefined): Record<string, string> | undefined {
  const values = secretValuesOf(raw);
  const named = template.secrets ?? [];
  const unknown = Object.keys(values ?? {}).filter((name) => !named.includes(name));
  if (unknown.length > 0) throw new UsageError(`${template.ref} takes no secret ${unknown.join(", ")}${named.length ? `; it takes ${named.join(", ")}` : "; it takes none"}`);
  const missing = named.filter((name) => values?.[name] === undefined);
  if (missing.length > 0) throw new UsageError(`${template.ref} needs ${missing.map((name) => `--secret ${name}`).join(" ")} (the value from your environment, or NAME=VALUE)`);
  return values;
}

/** `-p` values are text; each becomes the type its parameter declares, so "3" reaches an integer as 3. */
export function typedParams(template: Pick<Template, "ref" | "params">, raw: Record<string, string>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [name, text] of Object.entries(raw)) {
    const declared = template.params.properties[name];
    if (!declared) {
      const known = Object.keys(template.params.properties);
      throw new UsageError(`${template.ref} has no parameter "${name}"${known.length ? `; it takes ${known.join(", ")}` : "; it takes none"}`);
    }
    if (declared.type === "string") out[name] = text;
    else if (declared.type === "boolean") {
      if (text !== "true" && text !== "false") throw new UsageError(`-p ${name} must be true or false, got "${text}"`);
      out[name] = text === "true";
    } else {
      const n = Number(text);
      if (text.trim() === "" || !Number.isFinite(n) || (declared.type === "integer" && !Number.isInteger(n))) throw new UsageError(`-p ${name} must be ${declared.type === "integer" ? "a whole number" : "a number"}, got "${text}"`);
      out[name] = n;
    }
  }
  return out;
}

function summary(job: Job, outputDir: string | undefined, download: OutputsDownload | undefined): string[] {
  const lines = [`job ${job.id} ${job.status}${job.error ? `: ${terminalText(job.error)}` : ""}`];
  for (const file of job.output?.files ?? []) lines.push(`  output ${file.path} (${file.size} bytes, sha256 ${file.sha256})`);
  const downloaded = download?.files.length ?? 0;
  if (outputDir && downloaded > 0) lines.push(`  ${downloaded} file${downloaded === 1 ? "" : "s"} saved in ${outputDir}, each sha256 checked`);
  if (job.price.claimed_wei !== null) lines.push(`  cost ${formatEther(BigInt(job.price.claimed_wei))} ETH (the provider's claim; settlement ${job.settlement})`);
  lines.push(...howDataMoved(job.metrics.transfer.inputs, download?.transfer ?? null));
  lines.push(...describeEgress(job));
  // Printed after the logs: keep them apart.
  return ["", ...lines];
}
