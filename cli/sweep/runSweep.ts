// `pond run … --grid NAME=a,b`: a sweep. Every point's request is built and checked
// before the first job is created (a template's parameters by the API's own resolve,
// an image's spec as `pond run` checks it) and the whole grid is priced against the
// escrow, so a mistake in one value or a short escrow creates nothing. Then one job a
// point, labelled with the sweep and its point, waited for together; the table ranks
// them by a number their metrics file reports.
import { join } from "node:path";
import { formatEther } from "viem";
import type { Job } from "../../protocol/job.ts";
import type { CreateJobRequest, InputFile } from "../../protocol/jobSpec.ts";
import { PondApiError, type PondClient, type TemplateRunChoices } from "../../sdk/index.ts";
import { pairs, type CliContext } from "../context.ts";
import { inputsFromJobs, splitInputArguments } from "../dataplane/jobInputs.ts";
import { fetchOutputs } from "../dataplane/outputsDownload.ts";
import { PartialFailure, UsageError } from "../errors.ts";
import { terminalText } from "../terminalText.ts";
import { exitCodes } from "../exitCodes.ts";
import { checkedLabels, imageRequest, refuseRepeatedInputPaths, templateRun, type RunOptions, type TemplateFixedFlag } from "../runRequests.ts";
import { endedLine, waitForJobs } from "../waitJobs.ts";
import { AXIS_LABEL_PREFIX, describePoint, newSweepId, SWEEP_LABEL, type Axis, parseGrid, pointLabels, pointsOf, type Point } from "./grid.ts";
import { SweepInputs } from "./sweepInputs.ts";
import { describeSweep, sweepResults } from "./sweepResults.ts";

export interface SweepOptions extends RunOptions {
  grid?: string[];
  label?: string[];
  metric?: string;
  minimize?: boolean;
  metricsFile: string;
}

/** One point's job, ready to send: what differs between an image's and a template's is how it is created. */
interface PlannedJob {
  point: Point;
  maxPriceWei: bigint;
  create: (labels: Record<string, string>) => Promise<Job>;
}

export async function runSweep(c: CliContext, args: string[], options: SweepOptions, given: readonly TemplateFixedFlag[]): Promise<void> {
  if (options.dryRun) throw new UsageError("--dry-run quotes one job: drop --grid and give one point's values (-p or --env)");
  if (options.minimize && !options.metric) throw new UsageError("--minimize ranks by --metric: name the metric too");
  if (options.output && (options.detach || !options.wait)) throw new UsageError("--output downloads when the jobs end, and --detach does not wait for them: drop one (pond jobs download <id> --output dir fetches a job's later)");
  const { local, fromJobs } = await splitInputArguments(options.input ?? []);
  if (local.length && (options.detach || !options.wait)) {
    throw new UsageError("a detached sweep's --input files would go to the relay once for every job: wait for the sweep (its jobs' providers get them peer to peer), or send them once as an earlier job's outputs (--input job_…:PATH)");
  }
  if (local.length && !c.p2p.enabled) {
    throw new UsageError("with POND_P2P=off a sweep's --input files would go to the relay once for every job: turn peer to peer on, or send them once as an earlier job's outputs (--input job_…:PATH)");
  }
  const axes = parseGrid(options.grid ?? []);
  const points = pointsOf(axes);
  const sweepId = newSweepId();
  const own = pairs(options.label, "--label");
  const taken = Object.keys(own).find((key) => key === SWEEP_LABEL || key.startsWith(AXIS_LABEL_PREFIX));
  if (taken) throw new UsageError(`--label ${taken}: labels starting ${SWEEP_LABEL} are the sweep's own`);
  const labelsOf = (point: Point) => checkedLabels({ ...own, ...pointLabels(sweepId, point) });
  // Every point's labels, checked now: a value the API would refuse leaves no half-made sweep.
  for (const point of points) labelsOf(point);
  const sdk = await c.client();
  const wallet = await c.wallet();
  const jobFiles = await inputsFromJobs(sdk, fromJobs);
  const inputs = local.length ? await SweepInputs.collect(local, (text) => c.output.note(text)) : undefined;
  try {
    const specFiles = [...(inputs?.specFiles ?? []), ...jobFiles];
    refuseRepeatedInputPaths(specFiles);
    await planCreateAndWait(c, sdk, wallet, { args, options, given, axes, points, sweepId, labelsOf, specFiles, inputs });
  } finally {
    await inputs?.finish();
  }
}

interface SweepPlan {
  args: string[];
  options: SweepOptions;
  given: readonly TemplateFixedFlag[];
  axes: Axis[];
  points: Point[];
  sweepId: string;
  labelsOf: (point: Point) => Record<string, string>;
  specFiles: InputFile[];
  inputs: SweepInputs | undefined;
}

async function planCreateAndWait(c: CliContext, sdk: PondClient, wallet: Parameters<PondClient["createPaidJob"]>[1], plan: SweepPlan): Promise<void> {
  const { args, options, given, axes, points, sweepId, labelsOf, specFiles: jobFiles, inputs } = plan;

  const planned = options.image ? planImageJobs(sdk, args, options, points, jobFiles, wallet) : await planTemplateJobs(sdk, args, options, points, jobFiles, given, wallet);
  await refuseUnaffordable(sdk, planned, (text) => c.output.note(text));
  c.output.note(`[pond: sweep ${sweepId}: ${planned.length} jobs (${axes.map((axis) => `${axis.values.length} ${axis.name}`).join(" × ")}); pond sweep show ${sweepId} reads it back]`);

  const created: Job[] = [];
  for (const job of planned) {
    try {
      const made = await job.create(labelsOf(job.point));
      created.push(made);
      await inputs?.serve(sdk, made.id, c.p2p);
    } catch (error) {
      if (created.length === 0) throw error;
      const where = `sweep ${sweepId}: at least ${created.length} of ${planned.length} jobs were created before ${terminalText(describePoint(job.point))} failed`;
      if (inputs) {
        // Their --input files are served only while this command runs: left alone, they would wait for them and fail.
        const canceled = await cancelAll(sdk, created);
        throw new PartialFailure(error, `${where}; ${canceled.length} canceled, since their --input files come from this machine only while the sweep runs`, { sweep: sweepId, canceled });
      }
      // What was created goes on: said for a person, and under `left` for a script, so it can be stopped.
      throw new PartialFailure(error, `${where}; they go on (pond sweep cancel ${sweepId} stops them)`, { sweep: sweepId, created: created.map((done) => done.id) });
    }
  }
  if (options.detach || !options.wait) {
    return c.output.result({ sweep: sweepId, jobs: created }, (result) => [`sweep ${result.sweep}`, ...result.jobs.map((job, i) => `  ${job.id}  ${terminalText(describePoint(planned[i]!.point))}`)]);
  }

  const { jobs } = await waitForJobs(sdk, created.map((job) => job.id), { onEnded: (job) => c.output.note(endedLine(job)) });
  if (options.output) {
    for (const job of jobs.filter((j) => j.status === "succeeded" && j.output?.files.length)) {
      await fetchOutputs(sdk, c.p2p, job, join(options.output, job.id), c.progress, (text) => c.output.note(text));
    }
  }
  const results = await sweepResults(sdk, sweepId, jobs, { metricsFile: options.metricsFile, ...(options.metric ? { metric: options.metric } : {}), minimize: Boolean(options.minimize) });
  c.output.result(results, describeSweep);
  if (options.output) c.output.note(`[pond: each succeeded job's outputs are in ${options.output}/<job id>, each sha256 checked]`);
  if (jobs.some((job) => job.status !== "succeeded")) process.exitCode = exitCodes.jobUnsuccessful;
}

/** An image's sweep varies environment variables: each point's are set beside --env's, and checked as `pond run` checks a spec. */
function planImageJobs(sdk: PondClient, cmd: string[], options: SweepOptions, points: Point[], jobFiles: InputFile[], wallet: Parameters<PondClient["createPaidJob"]>[1]): PlannedJob[] {
  const fixed = pairs(options.env, "--env");
  return points.map((point) => {
    const clash = point.find(([name]) => Object.hasOwn(fixed, name));
    if (clash) throw new UsageError(`--grid ${clash[0]} and --env ${clash[0]} both set it: keep one`);
    let request: CreateJobRequest;
    try {
      request = imageRequest(cmd, { ...options, env: [...(options.env ?? []), ...point.map(([name, value]) => `${name}=${value}`)] }, jobFiles);
    } catch (error) {
      throw namedByPoint(error, point);
    }
    return { point, maxPriceWei: BigInt(request.max_price_wei), create: (labels) => sdk.createPaidJob({ ...request, labels }, wallet) };
  });
}

/**
 * A template's sweep varies its parameters. The template is read once and its exact version pinned for every point
 * (a newer `@latest` cannot slip in part-way), and every point is resolved by the API before any job exists, a few
 * at a time, so a value it refuses is named first.
 */
async function planTemplateJobs(
  sdk: PondClient,
  args: string[],
  options: SweepOptions,
  points: Point[],
  jobFiles: InputFile[],
  given: readonly TemplateFixedFlag[],
  wallet: Parameters<PondClient["runTemplate"]>[2],
): Promise<PlannedJob[]> {
  const fixed = pairs(options.param, "-p");
  const clash = points[0]!.find(([name]) => Object.hasOwn(fixed, name));
  if (clash) throw new UsageError(`--grid ${clash[0]} and -p ${clash[0]} both set it: keep one`);
  if (!args[0]) throw new UsageError("say what to sweep: a template (pond run owner/name@1.0.0 --grid key=a,b) or an image (pond run --image busybox --grid KEY=a,b -- cmd)");
  const template = await sdk.getTemplate(args[0]);
  const pinned = { getTemplate: async () => template };
  const plan = async (point: Point): Promise<PlannedJob> => {
    const valued = { ...options, param: [...(options.param ?? []), ...point.map(([name, value]) => `${name}=${value}`)] };
    const { ref, choices } = await templateRun(pinned, [template.ref, ...args.slice(1)], valued, jobFiles, given).catch((error: unknown) => Promise.reject(namedByPoint(error, point)));
    const resolved = await sdk.resolveTemplate(ref, { params: choices.params, ...(choices.max_price_wei ? { max_price_wei: choices.max_price_wei } : {}), ...(choices.input_files ? { input_files: choices.input_files } : {}) }).catch((error: unknown) => Promise.reject(namedByPoint(error, point)));
    return { point, maxPriceWei: BigInt(resolved.spec.max_price_wei), create: (labels) => sdk.runTemplate(ref, { ...choices, labels } satisfies TemplateRunChoices, wallet) };
  };
  const planned: PlannedJob[] = [];
  for (let i = 0; i < points.length; i += RESOLVES_AT_ONCE) planned.push(...(await Promise.all(points.slice(i, i + RESOLVES_AT_ONCE).map(plan))));
  return planned;
}

const RESOLVES_AT_ONCE = 8;

/** Cancels what it can of `jobs`, and says which. */
async function cancelAll(sdk: PondClient, jobs: readonly Job[]): Promise<string[]> {
  const outcomes = await Promise.allSettled(jobs.map((job) => sdk.cancelJob(job.id)));
  return jobs.flatMap((job, i) => (outcomes[i]!.status === "fulfilled" ? [job.id] : []));
}

/** A refusal of one point's values (the CLI's own, or the API's 422), said with the point it was. */
function namedByPoint(error: unknown, point: Point): unknown {
  const where = `--grid ${terminalText(describePoint(point))}`;
  if (error instanceof UsageError) return new UsageError(`${where}: ${error.message}`, error.exitCode);
  if (error instanceof PondApiError && error.problem.status === 422) return new UsageError(`${where}: ${error.message}${error.problem.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join("") ?? ""}`);
  return error;
}

/**
 * Where jobs are paid from escrow, the whole sweep must fit what is free in it as indexed, or none is created: a
 * half-made sweep is what this spares. The API admits each job against the escrow on its own, one at a time.
 */
async function refuseUnaffordable(sdk: PondClient, planned: readonly PlannedJob[], note: (text: string) => void): Promise<void> {
  if (!(await sdk.chain()).settles_on_chain) return;
  const total = planned.reduce((sum, job) => sum + job.maxPriceWei, 0n);
  let free = BigInt((await sdk.account()).escrow.available_wei);
  // A deposit made a moment ago is not indexed yet (the API reads the chain every few seconds): read again before refusing.
  for (let read = 1; total > free && read <= ESCROW_REREADS; read++) {
    if (read === 1) note("[pond: the escrow as indexed does not cover this sweep; reading it again in case a deposit is on its way]");
    await new Promise((resolve) => setTimeout(resolve, ESCROW_REREAD_MS));
    free = BigInt((await sdk.account()).escrow.available_wei);
  }
  if (total > free) {
    throw new UsageError(
      `this sweep's ${planned.length} jobs may cost up to ${formatEther(total)} ETH together (each up to its max price); your escrow has ${formatEther(free)} ETH free (pond balance): deposit more (pond deposit), lower --max-price, or sweep fewer points`,
      exitCodes.refused,
    );
  }
}

const ESCROW_REREADS = 4;
const ESCROW_REREAD_MS = 1500;
