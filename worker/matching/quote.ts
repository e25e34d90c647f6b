// A job's quote: pure, over the capacity copies a matchmaker keeps. The same
// tests the matcher applies (hardware, egress, rate over the timeout), counted
// instead of assigned, and the matcher's own pick for what the job would cost,
// so a creator can see what a job would meet before paying.
import type { JobQuote } from "../../protocol/quote.ts";
import { explainNeverFits, hardwareFits, matchJobs, rateFor, type ProviderCapacity, type QueuedJob } from "./matcher.ts";

export type QuotedJob = Pick<QueuedJob, "resources" | "maxPriceWei" | "timeoutS" | "needsEgress">;

export function quoteJob(job: QuotedJob, providers: readonly ProviderCapacity[]): JobQuote {
  const fitting = providers.filter(
    (p) => (!job.needsEgress || p.egress === true) && hardwareFits({ gpus: p.totalGpus, milliCpus: p.totalMilliCpus, memoryMb: p.totalMemoryMb }, job.resources),
  );
  const hasRoom = (p: ProviderCapacity) => hardwareFits({ gpus: p.freeGpus, milliCpus: p.freeMilliCpus, memoryMb: p.freeMemoryMb }, job.resources);
  const rates = fitting.map((p) => rateFor(job.resources, p));
  const timeout = BigInt(job.timeoutS);
  const lowest = rates.length ? rates.reduce((a, b) => (a < b ? a : b)) : undefined;
  const highest = rates.length ? rates.reduce((a, b) => (a > b ? a : b)) : undefined;
  // Who the matcher would pick now (warm holders aside: the matchmaker's own index is not read here).
  const [pick] = matchJobs(fitting, [{ ...job, id: "quote", matchDeadline: Number.MAX_SAFE_INTEGER }]).assignments;
  return {
    providers_online: providers.length,
    providers_fit: fitting.length,
    providers_free: fitting.filter(hasRoom).length,
    providers_within_price: fitting.filter((_, i) => rates[i]! * timeout <= job.maxPriceWei).length,
    rate_wei_per_second: lowest === undefined ? null : { lowest: lowest.toString(), highest: highest!.toString() },
    offered_rate_wei_per_second: pick ? pick.rateWeiPerSecond.toString() : null,
    max_cost_wei: pick ? pick.maxAmountWei.toString() : null,
    matches_now: pick !== undefined,
    detail: pick
      ? "a provider that fits, within the price, has room now: the job would be offered at once"
      : (explainNeverFits({ ...job, id: "", matchDeadline: 0 }, providers) ?? "every provider that fits within the price is busy now: the job would wait in the queue for one"),
  };
}
