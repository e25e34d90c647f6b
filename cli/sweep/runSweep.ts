// `pond run … --grid NAME=a,b`: a sweep. Planned whole first (sweepPlan.ts: a mistake
// in one value is named by its point), then one job a point, labelled with the sweep
// and its point, created as one batch (all or none: a refused point or a short escrow
// leaves nothing), waited for together; the table ranks them by a number their
// metrics file reports (sweepResults.ts).
import { join } from "node:path";
import type { InputFile } from "../../protocol/jobSpec.ts";
import { PondApiError, StopEarlyIgnoredError, type PondClient } from "../../sdk/index.ts";
import { pairs, type CliContext } from "../context.ts";
import { inputsFromJobs, splitInputArguments } from "../dataplane/jobInputs.ts";
import { fetchOutputs } from "../dataplane/outputsDownload.ts";
import { PartialFailure, UsageError } from "../errors.ts";
import { terminalText } from "../terminalText.ts";
import { checkedLabels, refuseRepeatedInputPaths, type TemplateFixedFlag } from "../runRequests.ts";
import { describePoint, newSweepId, SWEEP_LABEL, pointLabels, type Point } from "./grid.ts";
import { cancelEach, jobsOfSweep, waitForSweep } from "./sweepJobs.ts";
import { sweepPointsOf } from "./sweepPoints.ts";
import { quoteSweep } from "./sweepQuote.ts";
import { SweepInputs } from "./sweepInputs.ts";
import { planImageJobs, planTemplateJobs, sweepRefusal, type SweepAsked, type SweepOptions } from "./sweepPlan.ts";
import { rankingOf, showSweep, type Ranking } from "./sweepResults.ts";
import { stopEarlyOf, stopEarlySummary } from "./earlyStopping.ts";
import { MIN_OTHERS, MIN_STOP_EARLY_JOBS, type StopEarly } from "../../protocol/stopEarly.ts";

export async function runSweep(c: CliContext, args: string[], options: SweepOptions, given: readonly TemplateFixedFlag[]): Promise<void> {
  const { points, description, seed } = sweepPointsOf(options);
  const distinct = new Set(points.map((point) => JSON.stringify(point))).size;
  if (distinct < points.length) c.output.note(`[pond: only ${distinct} of the ${points.length} points drawn differ: their ranges are narrow or their choices few]`);
  const sweepId = newSweepId();
  const own = pairs(options.label, "--label");
  const taken = Object.keys(own).find((key) => key.startsWith(SWEEP_LABEL));
  if (taken) throw new UsageError(`--label ${taken}: labels starting ${SWEEP_LABEL} are the sweep's own`);
  const labelsOf = (point: Point) => checkedLabels({ ...own, ...pointLabels(sweepId, point, seed) });
  // Every point's labels, checked now: a value the API would refuse leaves no half-made sweep.
  for (const point of points) labelsOf(point);
  const sdk = await c.client();
  const stopEarly = stopEarlyOf(options);
  if (stopEarly && points.length < MIN_STOP_EARLY_JOBS) {
    throw new UsageError(`--stop-early needs a sweep of at least ${MIN_STOP_EARLY_JOBS} jobs (each is judged against at least ${MIN_OTHERS} others); this one has ${points.length}`);
  }
  if (options.dryRun) return quoteSweep(c, sdk, { args, options, given, points, description, seed });
  const ranking = rankingOf(options);
  const waits = !options.detach && options.wait;
  if (options.output && !waits) throw new UsageError("--output downloads when the jobs end, and --detach does not wait for them: drop one (pond jobs download <id> --output dir fetches a job's later)");
  const { local, fromJobs } = await splitInputArguments(options.input ?? []);
  if (local.length && !waits) {
    throw new UsageError("a detached sweep's --input files would go to the relay once for every job: wait for the sweep (its jobs' providers get them peer to peer), or send them once as an earlier job's outputs (--input job_…:PATH)");
  }
  if (local.length && !c.p2p.enabled) {
    throw new UsageError("with POND_P2P=off a sweep's --input files would go to the relay once for every job: turn peer to peer on, or send them once as an earlier job's outputs (--input job_…:PATH)");
  }
  const wallet = await c.wallet();
  const jobFiles = await inputsFromJobs(sdk, fromJobs);
  const inputs = local.length ? await SweepInputs.collect(local, (text) => c.output.note(text)) : undefined;
  try {
    const specFiles = [...(inputs?.specFiles ?? []), ...jobFiles];
    refuseRepeatedInputPaths(specFiles);
    await planCreateAndWait(c, sdk, wallet, { args, options, given, points, description, seed, sweepId, labelsOf, specFiles, inputs, waits, ranking, stopEarly });
  } finally {
    await inputs?.finish();
  }
}

interface SweepPlan extends SweepAsked {
  sweepId: string;
  labelsOf: (point: Point) => Record<string, string>;
  specFiles: InputFile[];
  inputs: SweepInputs | undefined;
  waits: boolean;
  ranking: Ranking;
  stopEarly: StopEarly | undefined;
}

async function planCreateAndWait(c: CliContext, sdk: PondClient, wallet: Parameters<PondClient["createPaidJobs"]>[1], plan: SweepPlan): Promise<void> {
  const { args, options, given, points, description, seed, sweepId, labelsOf, specFiles, inputs, waits, ranking, stopEarly } = plan;
  const planned = options.image ? planImageJobs(args, options, points, specFiles) : await planTemplateJobs(sdk, args, options, points, specFiles, given);
  // The rule as the API took it: none when an older API created the jobs without it.
  let applied = stopEarly;
  const created = await sdk.createPaidJobs(planned.map((job) => job.job(labelsOf(job.point))), wallet, stopEarly ? { stopEarly } : {}).catch(async (error: unknown) => {
    if (error instanceof StopEarlyIgnoredError) {
      applied = undefined;
      c.output.note("[pond: this API does not take --stop-early (it is older than this pond): every job of the sweep runs to its end]");
      return error.jobs;
    }
    if (error instanceof PondApiError && error.status < 500) throw sweepRefusal(error, planned);
    throw await whatWasLeft(sdk, sweepId, error, inputs !== undefined);
  });
  c.output.note(`[pond: sweep ${sweepId}: ${planned.length} jobs (${description}); pond sweep show ${sweepId} reads it back]`);
  if (applied) c.output.note(`[pond: the API stops a running job whose best ${applied.metric} is worse than the median of the others' at its step, from step ${applied.after_step}]`);
  for (const job of created) await inputs?.serve(sdk, job.id, c.p2p);
  if (!waits) {
    return c.output.result({ sweep: sweepId, ...(seed !== undefined ? { seed } : {}), jobs: created }, (result) => [`sweep ${result.sweep}`, ...result.jobs.map((job, i) => `  ${job.id}  ${terminalText(describePoint(planned[i]!.point))}`)]);
  }

  const { jobs } = await waitForSweep(sdk, created.map((job) => job.id), { note: (text) => c.output.note(text) });
  if (applied) c.output.note(stopEarlySummary(applied, jobs));
  if (options.output) {
    for (const job of jobs.filter((j) => j.status === "succeeded" && j.output?.files.length)) {
      await fetchOutputs(sdk, c.p2p, job, join(options.output, job.id), c.progress, (text) => c.output.note(text));
    }
  }
  await showSweep(c, sdk, sweepId, jobs, ranking);
  if (options.output) c.output.note(`[pond: each succeeded job's outputs are in ${options.output}/<job id>, each sha256 checked]`);
}

/**
 * A batch create that failed without a refusal (an answer lost, a server error) may still have created the sweep: its
 * jobs are looked for by the sweep's label. Found, they are said (under `left` for a script) or, when their --input
 * files come only from this command, canceled; unknown, the sweep's id says where to look.
 */
export async function whatWasLeft(sdk: PondClient, sweepId: string, error: unknown, servesInputs: boolean): Promise<unknown> {
  const found = await jobsOfSweep(sdk, sweepId).catch(() => undefined);
  if (found === undefined) return new PartialFailure(error, `sweep ${sweepId}: whether its jobs were created is not known; pond sweep show ${sweepId} says, and pond sweep cancel ${sweepId} stops them`, { sweep: sweepId });
  if (found.length === 0) return error;
  if (servesInputs) {
    const canceled = (await cancelEach(sdk, found)).canceled.map((job) => job.id);
    return new PartialFailure(error, `sweep ${sweepId}: its ${found.length} jobs were created though the answer was lost; ${canceled.length} canceled, since their --input files come from this machine only while the sweep runs`, { sweep: sweepId, canceled });
  }
  return new PartialFailure(error, `sweep ${sweepId}: its ${found.length} jobs were created though the answer was lost; they go on (pond sweep cancel ${sweepId} stops them)`, { sweep: sweepId, created: found.map((job) => job.id) });
}
