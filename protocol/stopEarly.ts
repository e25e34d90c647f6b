// A batch's early stopping as the API takes it (`stop_early` beside the jobs of
// POST /v1/jobs/batch): which reported metric, which way is better, and from which
// step on; the API's judge then applies the median stopping rule (medianRule.ts) to
// the batch's jobs as they report, with nobody waiting on them.
import { z } from "zod";
import { reportedMetricLimits } from "./limits.ts";
import type { StopRule } from "./medianRule.ts";
import { isReservedMetricName, METRIC_NAME } from "./reportedMetrics.ts";

/** Others a job is judged against at its step, at the least (Vizier's and Ray Tune's default is 3). */
export const MIN_OTHERS = 3;
/** Jobs a batch needs for the rule ever to judge one: itself and MIN_OTHERS others. */
export const MIN_STOP_EARLY_JOBS = MIN_OTHERS + 1;

export const StopEarly = z
  .object({
    metric: z
      .string()
      .max(reportedMetricLimits.maxNameLength)
      .regex(METRIC_NAME, "is a name the jobs report on POND_METRICS lines: a letter or _, then letters, digits, _ . / -")
      // The one name the pattern allows that no job may report under: no job's curve could ever be judged by it.
      .refine((name) => !isReservedMetricName(name), "is not a name a job may report metrics under")
      .meta({ description: "A metric the jobs report on `POND_METRICS` lines, e.g. `val_loss`" }),
    mode: z.enum(["min", "max"]).meta({ description: "Which way is better: `min` for a loss, `max` for an accuracy" }),
    after_step: z
      .int()
      .min(1)
      .max(reportedMetricLimits.maxStep)
      .default(1)
      .meta({ description: "No job is stopped before it has reported this step" }),
  })
  .strict()
  .meta({ id: "StopEarly" });
export type StopEarly = z.infer<typeof StopEarly>;

export function stopRuleOf(stopEarly: StopEarly): StopRule {
  return { metric: stopEarly.metric, minimize: stopEarly.mode === "min", graceSteps: stopEarly.after_step, minOthers: MIN_OTHERS };
}
