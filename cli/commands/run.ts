// `pond run`: a job from a template (`pond run pond/echo@1.0.0 -p message=hi`)
// or from an image (`pond run --image busybox -- echo hi`), followed to its end.
import type { Command } from "commander";
import type { Job } from "../../protocol/job.ts";
import type { InputFile } from "../../protocol/jobSpec.ts";
import type { PondClient } from "../../sdk/index.ts";
import { decimal, integer, repeated, type CliContext } from "../context.ts";
import { exitCodes } from "../exitCodes.ts";
import { followLogs } from "../followLogs.ts";
import { CreatorInputs } from "../dataplane/creatorInputs.ts";
import { collectInputs } from "../dataplane/inputFiles.ts";
import { inputsFromJobs, quotedInputFiles, splitInputArguments } from "../dataplane/jobInputs.ts";
import { fetchOutputs, warmUp, type OutputsDownload } from "../dataplane/outputsDownload.ts";
import { howDataMoved } from "../dataplane/transferSummary.ts";
import { percentIn } from "../progress.ts";
import { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import { formatEther } from "viem";
import { describeEgress } from "../egressSummary.ts";
import { describeGpus } from "../gpuSummary.ts";
import { imageRequest, quoteOf, refuseRepeatedInputPaths, templateRun, TEMPLATE_FIXED_FLAGS, type RunOptions, type TemplateFixedFlag } from "../runRequests.ts";
import { UsageError } from "../errors.ts";
import { runSweep } from "../sweep/runSweep.ts";
import { withStopEarlyOptions } from "../sweep/earlyStopping.ts";
import type { SweepOptions } from "../sweep/sweepPlan.ts";
import { describeQuote } from "../quoteSummary.ts";
import { terminalText } from "../terminalText.ts";


/** Flags of a sweep only, by their option names: given without --grid or --sample, they would be ignored. */
const SWEEP_ONLY_FLAGS = { metric: "--metric", minimize: "--minimize", metricsFile: "--metrics-file", trials: "--trials", seed: "--seed", stopEarly: "--stop-early", stopEarlyAfter: "--stop-early-after" } as const;

export function registerRun(program: Command, ctx: () => CliContext): void {
  const run = program
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
    .option(
      "--registry-user <name>",
      "pull a private --image as this registry user, with the password or token in $POND_REGISTRY_PASSWORD: stored sealed, sent only to the provider that runs the job (and a mediator that re-runs it), never into its container, and never shown again",
    )
    .option("--allow-host <host>", "a host the job may reach over HTTP(S) through its provider's egress proxy: name, name:port or *.domain (repeatable; only providers offering egress take the job)", repeated)
    .option("--checkpoint-every <s>", "the job saves its state in $POND_CHECKPOINT_DIR (/outputs/checkpoint); its provider saves that folder every this many seconds (at least 10), and a requeued job starts with the latest one there", integer)
    .option("--webhook <url>", "where to send this job's signed webhooks")
    .option(
      "--input <path>",
      "a file or folder the job finds at /inputs/<name>, sent peer to peer (or through the relay) and checked by sha256; or job_…:PATH (that output of an earlier job of yours) or job_… (all its outputs), which the provider fetches from that job's outputs (repeatable)",
      repeated,
    )
    .option("--output <dir>", "download the outputs into this folder when the job ends, peer to peer or from R2 (each sha256 checked)")
    .option("--label <KEY=VALUE>", "a label of your own on the job, for pond jobs list --label (repeatable; never sent to the provider)", repeated)
    .option("--grid <NAME=V1,V2,…>", "a sweep: one job for every combination of these values of a template's parameter (of an environment variable with --image), waited for together and ranked (repeatable; at most 100 jobs)", repeated)
    .option("--sample <NAME=KIND:…>", "a random search: draw this name's value for each of --trials jobs, from uniform:LOW,HIGH, log:LOW,HIGH (log-uniform), int:LOW,HIGH or choice:A,B,… (repeatable; with --grid, every grid point gets its own trials)", repeated)
    .option("--trials <n>", "with --sample: how many random points to draw (at most 100 jobs in all)", integer)
    .option("--seed <n>", "with --sample: the seed to draw them with; the same flags and seed draw the same points (a sweep without one prints the one it used)", integer)
    .option("--metric <name>", "with --grid or --sample: rank the jobs by this number in their metrics file (highest first)")
    .option("--minimize", "with --metric: lowest first (a loss)")
    .option("--metrics-file <path>", "with --grid or --sample: the output holding each job's metrics, a JSON object", "metrics.json")
    .option("--dry-run", "create nothing: say which providers online could run the job, their rates, and whether one has room now at your price")
    .option("--detach", "return once the job is queued, printing its id")
    .option("--no-wait", "the same as --detach")
    .action(async (args: string[], options: SweepOptions, command: Command) => {
      const c = ctx();
      // Those a template fixes, given here: refused with a template rather than ignored.
      const given = (Object.keys(TEMPLATE_FIXED_FLAGS) as TemplateFixedFlag[]).filter((name) => command.getOptionValueSource(name) === "cli");
      if (options.grid || options.sample) return runSweep(c, args, options, given);
      const sweepOnly = (Object.keys(SWEEP_ONLY_FLAGS) as (keyof typeof SWEEP_ONLY_FLAGS)[]).filter((name) => command.getOptionValueSource(name) === "cli");
      if (sweepOnly.length) throw new UsageError(`${sweepOnly.map((name) => SWEEP_ONLY_FLAGS[name]).join(", ")} belong to a sweep: give the values to sweep with --grid NAME=A,B or --sample NAME=KIND:…`);
      if (options.dryRun) return quote(c, args, options, given);
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
      const job = options.image ? await sdk.createPaidJob(imageRequest(args, options, specFiles), wallet) : await runTemplateJob(sdk, wallet, args, options, specFiles, given);
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
  // A sweep's early stopping: its flags are shared with pond sweep wait.
  withStopEarlyOptions(run);
}

/**
 * `--dry-run`: the quote for the job as it would be sent. Another job's outputs go in as the run would send them (their
 * sizes and sha256 from that job, so a provider still holding them counts as warm); a local file is checked to be there
 * but not read or hashed, so a provider that has it cached does not count. Its secrets go by name, their values unread.
 */
async function quote(c: CliContext, args: string[], options: RunOptions, given: readonly TemplateFixedFlag[]): Promise<void> {
  const sdk = await c.client();
  const jobFiles = await quotedInputFiles(sdk, options.input);
  const request = options.image
    ? imageRequest(args, options, jobFiles, "quote")
    : await templateRun(sdk, args, options, jobFiles, given, "quote").then(({ ref, choices }) => ({ template: ref, ...choices }));
  const answer = await sdk.quoteJob(quoteOf(request));
  c.output.result(answer, (q) => describeQuote(q, options.image ? `${options.image}` : `${args[0]}`));
}

async function runTemplateJob(
  sdk: PondClient,
  wallet: Awaited<ReturnType<CliContext["wallet"]>>,
  args: string[],
  options: RunOptions,
  inputFiles: InputFile[],
  given: readonly TemplateFixedFlag[],
): Promise<Job> {
  const { ref, choices } = await templateRun(sdk, args, options, inputFiles, given);
  return sdk.runTemplate(ref, choices, wallet);
}

function summary(job: Job, outputDir: string | undefined, download: OutputsDownload | undefined): string[] {
  const lines = [`job ${job.id} ${job.status}${job.error ? `: ${terminalText(job.error)}` : ""}`];
  for (const file of job.output?.files ?? []) lines.push(`  output ${file.path} (${file.size} bytes, sha256 ${file.sha256})`);
  const downloaded = download?.files.length ?? 0;
  if (outputDir && downloaded > 0) lines.push(`  ${downloaded} file${downloaded === 1 ? "" : "s"} saved in ${outputDir}, each sha256 checked`);
  if (job.price.claimed_wei !== null) lines.push(`  cost ${formatEther(BigInt(job.price.claimed_wei))} ETH (the provider's claim; settlement ${job.settlement})`);
  lines.push(...howDataMoved(job.metrics.transfer.inputs, download?.transfer ?? null));
  lines.push(...describeEgress(job));
  lines.push(...describeGpus(job));
  // Printed after the logs: keep them apart.
  return ["", ...lines];
}
