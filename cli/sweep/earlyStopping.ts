// A sweep's early stopping as `pond run --grid … --stop-early NAME:min|max` asks for
// it: the flags, read into the batch's `stop_early` (the API then applies the median
// stopping rule to the jobs as they report, whether or not anyone waits), and what
// is said once the sweep has ended.
import type { Command } from "commander";
import { stoppedEarly, type Job } from "../../protocol/job.ts";
import { reportedMetricLimits } from "../../protocol/limits.ts";
import { StopEarly } from "../../protocol/stopEarly.ts";
import { integer } from "../context.ts";
import { UsageError } from "../errors.ts";

export function withStopEarlyOptions(command: Command): Command {
  return command
    .option("--stop-early <NAME:min|max>", "cancel a running job whose best NAME so far (a metric the jobs report on POND_METRICS lines) is worse than the median of the other jobs' running averages at the same step; the API does it as they report, with --detach too")
    .option("--stop-early-after <step>", "with --stop-early: judge no job before it has reached this step", integer);
}

/** `--stop-early NAME:min|max`, with `--stop-early-after STEP` (default 1), as the batch's `stop_early`; undefined without them. */
export function stopEarlyOf(flags: { stopEarly?: string; stopEarlyAfter?: number }): StopEarly | undefined {
  if (flags.stopEarly === undefined) {
    if (flags.stopEarlyAfter !== undefined) throw new UsageError("--stop-early-after goes with --stop-early NAME:min|max");
    return undefined;
  }
  // Checked by the schema the API takes it with, so a rule this accepts is one the API does.
  const [, metric, mode] = /^(.+):(min|max)$/.exec(flags.stopEarly) ?? [];
  const parsed = StopEarly.safeParse({ metric, mode, after_step: flags.stopEarlyAfter ?? 1 });
  if (parsed.success) return parsed.data;
  if (parsed.error.issues.some((issue) => issue.path[0] !== "after_step")) {
    throw new UsageError(`--stop-early ${JSON.stringify(flags.stopEarly)}: name a metric the jobs report and which way is better, e.g. val_loss:min or val_accuracy:max`);
  }
  throw new UsageError(`--stop-early-after is a step, at least 1 and at most ${reportedMetricLimits.maxStep}; got ${flags.stopEarlyAfter}`);
}

/** Said once the sweep has ended: how many jobs the rule stopped, or that none reported the metric. */
export function stopEarlySummary(stopEarly: StopEarly, jobs: readonly Job[]): string {
  const { metric } = stopEarly;
  const stopped = jobs.filter(stoppedEarly).length;
  if (stopped === 0 && !jobs.some((job) => job.reported_metrics?.[metric] !== undefined)) {
    return `[pond: no job reported ${metric} (POND_METRICS lines): none could be stopped early]`;
  }
  return `[pond: ${stopped} of ${jobs.length} jobs stopped early by ${metric} (${stopEarly.mode === "min" ? "lower" : "higher"} is better)]`;
}
