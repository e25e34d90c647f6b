// A sweep's plan: every point's job built and checked before the first is created
// (a template's parameters by the API's own resolve, an image's spec as `pond run`
// checks it), and the whole of it priced against the escrow, so a mistake in one
// value or a short escrow creates nothing.
import { formatEther } from "viem";
import { forEachInPool } from "../../p2p/core/pool.ts";
import type { Job } from "../../protocol/job.ts";
import type { CreateJobRequest, InputFile } from "../../protocol/jobSpec.ts";
import { PondApiError, type PondClient, type TemplateRunChoices } from "../../sdk/index.ts";
import { pairs } from "../context.ts";
import { describeCliError, UsageError } from "../errors.ts";
import { exitCodes } from "../exitCodes.ts";
import { imageRequest, templateRun, type RunOptions, type TemplateFixedFlag } from "../runRequests.ts";
import { terminalText } from "../terminalText.ts";
import { describePoint, type Point } from "./grid.ts";

/** `pond run`'s options, with a sweep's own. */
export interface SweepOptions extends RunOptions {
  grid?: string[];
  label?: string[];
  metric?: string;
  minimize?: boolean;
  metricsFile: string;
}

/** One point's job, ready to send: what differs between an image's and a template's is how it is created. */
export interface PlannedJob {
  point: Point;
  maxPriceWei: bigint;
  create: (labels: Record<string, string>) => Promise<Job>;
}

/** An image's sweep varies environment variables: each point's are set beside --env's, and checked as `pond run` checks a spec. */
export function planImageJobs(sdk: PondClient, cmd: string[], options: SweepOptions, points: Point[], inputFiles: InputFile[], wallet: Parameters<PondClient["createPaidJob"]>[1]): PlannedJob[] {
  const fixed = pairs(options.env, "--env");
  return points.map((point) => {
    const clash = point.find(([name]) => Object.hasOwn(fixed, name));
    if (clash) throw new UsageError(`--grid ${clash[0]} and --env ${clash[0]} both set it: keep one`);
    let request: CreateJobRequest;
    try {
      request = imageRequest(cmd, { ...options, env: [...(options.env ?? []), ...point.map(([name, value]) => `${name}=${value}`)] }, inputFiles);
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
export async function planTemplateJobs(
  sdk: PondClient,
  args: string[],
  options: SweepOptions,
  points: Point[],
  inputFiles: InputFile[],
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
    const { ref, choices } = await templateRun(pinned, [template.ref, ...args.slice(1)], valued, inputFiles, given).catch((error: unknown) => Promise.reject(namedByPoint(error, point)));
    const resolved = await sdk.resolveTemplate(ref, { params: choices.params, ...(choices.max_price_wei ? { max_price_wei: choices.max_price_wei } : {}), ...(choices.input_files ? { input_files: choices.input_files } : {}) }).catch((error: unknown) => Promise.reject(namedByPoint(error, point)));
    return { point, maxPriceWei: BigInt(resolved.spec.max_price_wei), create: (labels) => sdk.runTemplate(ref, { ...choices, labels } satisfies TemplateRunChoices, wallet) };
  };
  const planned = new Map<Point, PlannedJob>();
  await forEachInPool(points, RESOLVES_AT_ONCE, async (point) => void planned.set(point, await plan(point)));
  return points.map((point) => planned.get(point)!);
}

const RESOLVES_AT_ONCE = 8;

/** A refusal of one point's values (the CLI's own, or the API's 422), said with the point it was. */
function namedByPoint(error: unknown, point: Point): unknown {
  const where = `--grid ${terminalText(describePoint(point))}`;
  if (error instanceof UsageError) return new UsageError(`${where}: ${error.message}`, error.exitCode);
  if (error instanceof PondApiError && error.problem.status === 422) return new UsageError(`${where}: ${describeCliError(error)}`);
  return error;
}

/**
 * Where jobs are paid from escrow, the whole sweep must fit what is free in it as indexed, or none is created: a
 * half-made sweep is what this spares. The API admits each job against the escrow on its own, one at a time.
 */
export async function refuseUnaffordable(sdk: PondClient, planned: readonly PlannedJob[], note: (text: string) => void): Promise<void> {
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
