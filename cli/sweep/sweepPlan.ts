// A sweep's plan: every point's job built before any is sent (an image's spec
// checked as `pond run` checks it; a template's values, by the API's own resolve, as
// the batch is made). The jobs go to the API as one batch, all created or none
// (runSweep.ts), and a refusal of one of them, or of the escrow for all of them, is
// said here in the sweep's terms: a value by its point.
import type { CreateJobRequest, InputFile } from "../../protocol/jobSpec.ts";
import { PondApiError, type BatchJob, type PondClient, type TemplateRunChoices } from "../../sdk/index.ts";
import { pairs } from "../context.ts";
import { describeCliError, exitCodeOf, UsageError } from "../errors.ts";
import { exitCodes } from "../exitCodes.ts";
import { imageRequest, templateRun, type RequestPurpose, type RunOptions, type TemplateFixedFlag } from "../runRequests.ts";
import { terminalText } from "../terminalText.ts";
import { describePoint, type Point } from "./grid.ts";
import { flagOfName, type SweepFlags } from "./sweepPoints.ts";

/** `pond run`'s options, with a sweep's own. */
export interface SweepOptions extends RunOptions, SweepFlags {
  label?: string[];
  metric?: string;
  minimize?: boolean;
  metricsFile: string;
  stopEarly?: string;
  stopEarlyAfter?: number;
}

/** What a sweep was asked as: `pond run`'s arguments and options, and the points they make. */
export interface SweepAsked {
  args: string[];
  options: SweepOptions;
  given: readonly TemplateFixedFlag[];
  points: Point[];
  /** How its points were made ("3 lr × 2 hidden", "20 trials of …; seed 7"), for its first line. */
  description: string;
  seed: number | undefined;
}

/** One point's job, ready to send with its labels: a spec, or a run of the template's pinned version. */
export interface PlannedJob {
  point: Point;
  job: (labels: Record<string, string>) => BatchJob;
}

/** An image's sweep varies environment variables: each point's are set beside --env's, and checked as `pond run` checks a spec. */
export function planImageJobs(cmd: string[], options: SweepOptions, points: Point[], inputFiles: InputFile[], purpose: RequestPurpose = "create"): PlannedJob[] {
  const fixed = pairs(options.env, "--env");
  return points.map((point) => {
    const clash = point.find(([name]) => Object.hasOwn(fixed, name));
    if (clash) throw new UsageError(`${flagOfName(options, clash[0])} ${clash[0]} and --env ${clash[0]} both set it: keep one`);
    let request: CreateJobRequest;
    try {
      request = imageRequest(cmd, { ...options, env: [...(options.env ?? []), ...point.map(([name, value]) => `${name}=${value}`)] }, inputFiles, purpose);
    } catch (error) {
      throw namedByPoint(error, point);
    }
    return { point, job: (labels) => ({ request: { ...request, labels } }) };
  });
}

/**
 * A template's sweep varies its parameters. The template is read once and its exact version pinned for every point
 * (a newer `@latest` cannot slip in part-way); each point's values are then resolved by the API as the batch is made
 * (and signed), so a value the template refuses is named by its point and nothing is created.
 */
export async function planTemplateJobs(
  sdk: PondClient,
  args: string[],
  options: SweepOptions,
  points: Point[],
  inputFiles: InputFile[],
  given: readonly TemplateFixedFlag[],
  purpose: RequestPurpose = "create",
): Promise<PlannedJob[]> {
  const fixed = pairs(options.param, "-p");
  const clash = points[0]!.find(([name]) => Object.hasOwn(fixed, name));
  if (clash) throw new UsageError(`${flagOfName(options, clash[0])} ${clash[0]} and -p ${clash[0]} both set it: keep one`);
  if (!args[0]) throw new UsageError("say what to sweep: a template (pond run owner/name@1.0.0 --grid key=a,b) or an image (pond run --image busybox --grid KEY=a,b -- cmd)");
  const template = await sdk.getTemplate(args[0]);
  const pinned = { getTemplate: async () => template };
  const planned: PlannedJob[] = [];
  for (const point of points) {
    const valued = { ...options, param: [...(options.param ?? []), ...point.map(([name, value]) => `${name}=${value}`)] };
    const { ref, choices } = await templateRun(pinned, [template.ref, ...args.slice(1)], valued, inputFiles, given, purpose).catch((error: unknown) => Promise.reject(namedByPoint(error, point)));
    planned.push({ point, job: (labels) => ({ template: ref, choices: { ...choices, labels } satisfies TemplateRunChoices }) });
  }
  return planned;
}


/** A refusal of one point's values (the CLI's own, or the API's 422), said with the point it was. */
function namedByPoint(error: unknown, point: Point): unknown {
  const where = `the point ${terminalText(describePoint(point))}`;
  if (error instanceof UsageError) return new UsageError(`${where}: ${error.message}`, error.exitCode);
  if (error instanceof PondApiError && error.problem.status === 422) return new UsageError(`${where}: ${describeCliError(error)}`);
  return error;
}

/**
 * The batch's refusal said in the sweep's terms: a job the API refused is named by its point (`jobs.3` is the fourth
 * point), and an escrow that cannot cover every job at once by the sweep's whole price.
 */
export function sweepRefusal(error: unknown, planned: readonly PlannedJob[]): unknown {
  if (!(error instanceof PondApiError)) return error;
  if (error.problem.status === 402) {
    return new UsageError(
      `this sweep's ${planned.length} jobs together may cost more than your escrow has free (pond balance): deposit more (pond deposit), lower --max-price, or sweep fewer points; none was created (${error.problem.detail})`,
      exitCodes.refused,
    );
  }
  const place = /^jobs\.(\d+)/.exec(error.problem.errors?.[0]?.path ?? error.problem.detail ?? "");
  const point = place ? planned[Number(place[1])]?.point : undefined;
  if (!point) return error;
  return new UsageError(`the point ${terminalText(describePoint(point))}: ${describeCliError(error)}\nnone of the sweep's jobs was created`, error.problem.status === 422 ? exitCodes.usage : exitCodeOf(error));
}
