// How early an authorization's deadline may fall: the job must be able to wait its
// whole match window, run its whole timeout, and still have its result reach the
// chain. The API checks it at creation and again when a waiting job's inputs from
// other jobs become known (its window starts then).
import { jobLimits } from "./limits.ts";

/** For the result's report to reach the chain after the job's end. */
export const RESULT_MARGIN_S = 300;

/** The earliest deadline an authorization for this spec may carry if its match window starts now (unix seconds). */
export function earliestDeadline(spec: { match_timeout_s?: number | undefined; timeout_s: number }, nowMs: number): number {
  return Math.ceil(nowMs / 1000) + (spec.match_timeout_s ?? jobLimits.defaultMatchTimeoutS) + spec.timeout_s + RESULT_MARGIN_S;
}
