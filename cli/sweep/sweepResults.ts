// A sweep's results: each job's point, how it ended, and the numbers its metrics
// file reports, ranked by the one asked for, as a table for a person or as JSON.
import { stoppedEarly, type Job } from "../../protocol/job.ts";
import { forEachInPool } from "../../p2p/core/pool.ts";
import { isTerminal } from "../../protocol/jobStatus.ts";
import { formatMetricValue, newestReportedStep } from "../../protocol/reportedMetrics.ts";
import type { CliContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { exitCodes } from "../exitCodes.ts";
import { table } from "../output.ts";
import { terminalText } from "../terminalText.ts";
import { describePoint, pointOfLabels, SEED_LABEL, type Point } from "./grid.ts";

/** Read whole, then parsed: a metrics file is a few numbers, not a data set. */
const MAX_METRICS_BYTES = 1024 * 1024;
/** Metric columns shown at most (the one ranked by first); --json has them all. */
const MAX_METRIC_COLUMNS = 6;

export interface MetricsReader {
  downloadOutput(id: string, path: string): Promise<Uint8Array>;
}

export interface SweepJobResult {
  id: string;
  point: Record<string, string>;
  status: Job["status"];
  /** Why it is where it is (a job stopped early: at which step, and why). */
  status_detail: string | null;
  /** The newest step the job reported metrics at, while it runs or after (POND_METRICS lines); null before any. */
  reported_step: number | null;
  error: string | null;
  /** The metrics file's top-level numbers; null when it has none to read (the job did not succeed, or left none). */
  metrics: Record<string, number> | null;
  /** Why metrics is null for a job that succeeded. */
  metrics_note?: string;
}

export interface SweepResults {
  sweep: string;
  jobs: SweepJobResult[];
  /** The job best by `metric`, when one was asked for and any job reported it. */
  best: string | null;
  metric: string | null;
  minimize: boolean;
  /** A random search's seed (its jobs' `pond.sweep.seed` label): the same flags with it draw the same points. */
  seed?: number;
}

/** The numbers in a job's metrics file (`path` among its outputs), or why there are none. */
export async function readMetrics(reader: MetricsReader, job: Job, path: string): Promise<{ metrics: Record<string, number> | null; note?: string }> {
  if (job.status !== "succeeded") return { metrics: null };
  const file = job.output?.files.find((f) => f.path === path);
  if (!file) return { metrics: null, note: `left no ${path}` };
  if (file.size > MAX_METRICS_BYTES) return { metrics: null, note: `its ${path} is ${file.size} bytes; a metrics file is read only up to ${MAX_METRICS_BYTES}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await reader.downloadOutput(job.id, path)));
  } catch (error) {
    return { metrics: null, note: error instanceof SyntaxError ? `its ${path} is not JSON` : `its ${path} could not be read: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { metrics: null, note: `its ${path} is not a JSON object` };
  const numbers = Object.entries(parsed).filter((entry): entry is [string, number] => typeof entry[1] === "number" && Number.isFinite(entry[1]));
  return { metrics: Object.fromEntries(numbers) };
}

/** How a sweep's jobs are ranked: the metrics file, and the number in it to rank by, highest first unless minimized. */
export interface Ranking {
  metricsFile: string;
  metric?: string;
  minimize: boolean;
}

/** The ranking a command's flags ask for (`pond run … --grid`, `pond sweep show`): --minimize only with --metric. */
export function rankingOf(flags: { metricsFile: string; metric?: string; minimize?: boolean }): Ranking {
  if (flags.minimize && !flags.metric) throw new UsageError("--minimize ranks by --metric: name the metric too");
  return { metricsFile: flags.metricsFile, ...(flags.metric ? { metric: flags.metric } : {}), minimize: Boolean(flags.minimize) };
}

/** Each job's result, read a few at a time; the order of `jobs` is kept. */
export async function sweepResults(reader: MetricsReader, sweep: string, jobs: readonly Job[], ranking: Ranking): Promise<SweepResults> {
  const read = new Map<string, Awaited<ReturnType<typeof readMetrics>>>();
  await forEachInPool(jobs, READS_AT_ONCE, async (job) => void read.set(job.id, await readMetrics(reader, job, ranking.metricsFile)));
  const results = jobs.map((job): SweepJobResult => {
    const { metrics, note } = read.get(job.id)!;
    return { id: job.id, point: Object.fromEntries(pointOfLabels(job.labels)), status: job.status, status_detail: job.status_detail, reported_step: newestReportedStep(job.reported_metrics), error: job.error, metrics, ...(note ? { metrics_note: note } : {}) };
  });
  const seed = jobs[0]?.labels[SEED_LABEL];
  return { sweep, jobs: results, best: bestOf(results, ranking.metric, ranking.minimize), metric: ranking.metric ?? null, minimize: ranking.minimize, ...(seed !== undefined && /^\d+$/.test(seed) ? { seed: Number(seed) } : {}) };
}

const READS_AT_ONCE = 8;

function bestOf(jobs: readonly SweepJobResult[], metric: string | undefined, minimize: boolean): string | null {
  if (metric === undefined) return null;
  let best: SweepJobResult | undefined;
  for (const job of jobs) {
    const value = metricOf(job, metric);
    if (value === undefined) continue;
    const held = best && metricOf(best, metric);
    if (held === undefined || (minimize ? value < held : value > held)) best = job;
  }
  return best?.id ?? null;
}

/** Names listed in a hint at most: a metrics file may hold thousands of keys. */
const MAX_NAMES_LISTED = 12;
const listed = (names: readonly string[]) => terminalText(names.slice(0, MAX_NAMES_LISTED).join(", ") + (names.length > MAX_NAMES_LISTED ? `, … (${names.length} in all)` : ""));

/** The job's own number by that name: never one its object inherits (`--metric constructor`). */
export function metricOf(job: Pick<SweepJobResult, "metrics">, name: string): number | undefined {
  return job.metrics && Object.hasOwn(job.metrics, name) ? job.metrics[name] : undefined;
}

/** The results for a person: a table ranked by the metric (grid order without one), then how it went. */
export function describeSweep(results: SweepResults): string[] {
  const { metric, minimize } = results;
  const axes = [...new Set(results.jobs.flatMap((job) => Object.keys(job.point)))];
  const seen = [...new Set(results.jobs.flatMap((job) => Object.keys(job.metrics ?? {})))];
  const columns = (metric !== undefined && metric !== null ? [metric, ...seen.filter((name) => name !== metric)] : seen).slice(0, MAX_METRIC_COLUMNS);
  const ranked = metric === null ? [...results.jobs] : [...results.jobs].sort((a, b) => compareBy(a, b, metric, minimize));
  // Names and values come from the jobs' own files and labels: escaped before they reach the terminal.
  const rows = ranked.map((job) => [
    job.id === results.best ? "*" : " ",
    job.id,
    ...axes.map((name) => terminalText(job.point[name] ?? "-")),
    // Where a job still running stands, from the metrics it reports.
    !isTerminal(job.status) && job.reported_step !== null ? `${job.status} (step ${job.reported_step})` : job.status,
    ...columns.map((name) => {
      const value = metricOf(job, name);
      return value === undefined ? "-" : formatMetricValue(value);
    }),
  ]);
  const succeeded = results.jobs.filter((job) => job.status === "succeeded").length;
  const stopped = results.jobs.filter(stoppedEarly).length;
  const lines = [`sweep ${results.sweep}: ${succeeded} of ${results.jobs.length} succeeded${stopped ? `, ${stopped} stopped early` : ""}${results.seed !== undefined ? ` (drawn with --seed ${results.seed})` : ""}`, ...table([[" ", "job", ...axes.map(terminalText), "status", ...columns.map(terminalText)], ...rows])];
  for (const job of results.jobs) {
    const where = terminalText(describePoint(Object.entries(job.point) as Point));
    const why = job.error ?? job.status_detail;
    if (isTerminal(job.status) && job.status !== "succeeded") lines.push(`  ${job.id} (${where}) ${job.status}${why ? `: ${terminalText(why)}` : ""}`);
    else if (job.metrics_note) lines.push(`  ${job.id} (${where}) ${terminalText(job.metrics_note)}`);
  }
  const best = results.jobs.find((job) => job.id === results.best);
  const shown = metric === null ? "" : terminalText(metric);
  if (best && metric !== null) lines.push(`best by ${shown} (${minimize ? "lowest" : "highest"}): ${best.id} (${terminalText(describePoint(Object.entries(best.point) as Point))}): ${shown} ${formatMetricValue(metricOf(best, metric)!)}`);
  else if (metric !== null) lines.push(`no job reported ${shown}${seen.length ? `; they reported ${listed(seen)}` : ""}`);
  else if (seen.length) lines.push(`rank them with --metric NAME (one of ${listed(seen)}; --minimize for a loss)`);
  return lines;
}

/** The sweep's table (or its JSON), and an exit code that says whether it went as asked. */
export async function showSweep(c: CliContext, reader: MetricsReader, sweep: string, jobs: readonly Job[], ranking: Ranking): Promise<void> {
  c.output.result(await sweepResults(reader, sweep, jobs, ranking), describeSweep);
  if (!sweepSucceeded(jobs)) process.exitCode = exitCodes.jobUnsuccessful;
}

/** Whether a sweep went as asked: every job succeeded, or was stopped early by its rule. */
export const sweepSucceeded = (jobs: readonly Pick<Job, "status" | "status_detail">[]) => jobs.every((job) => job.status === "succeeded" || stoppedEarly(job));

/** Jobs with the metric first, best to worst; those without it after, in their grid order. */
function compareBy(a: SweepJobResult, b: SweepJobResult, metric: string, minimize: boolean): number {
  const x = metricOf(a, metric);
  const y = metricOf(b, metric);
  if (x === undefined || y === undefined) return (x === undefined ? 1 : 0) - (y === undefined ? 1 : 0);
  return minimize ? x - y : y - x;
}
