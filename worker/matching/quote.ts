// A job's quote: pure, over the capacity copies a matchmaker keeps. The same
// tests the matcher applies (hardware, egress, rate over the timeout), counted
// instead of assigned, and the matcher's own pick for what the job would cost,
// so a creator can see what a job would meet before paying.
import type { JobQuote } from "../../protocol/quote.ts";
import { explainNeverFits, hardwareFits, matchJobs, rateFor, type ProviderCapacity, type QueuedJob, type SavedBytes } from "./matcher.ts";

export type QuotedJob = Pick<QueuedJob, "resources" | "maxPriceWei" | "timeoutS" | "needsEgress" | "warm">;

/** `savedBytes`: the matchmaker's index of what providers hold warm, so the pick is the one its round would make. */
export function quoteJob(job: QuotedJob, providers: readonly ProviderCapacity[], savedBytes?: SavedBytes): JobQuote {
  const fitting = providers.filter(
    (p) => (!job.needsEgress || p.egress === true) && hardwareFits({ gpus: p.totalGpus, milliCpus: p.totalMilliCpus, memoryMb: p.totalMemoryMb }, job.resources),
  );
  const hasRoom = (p: ProviderCapacity) => hardwareFits({ gpus: p.freeGpus, milliCpus: p.freeMilliCpus, memoryMb: p.freeMemoryMb }, job.resources);
  const rates = fitting.map((p) => rateFor(job.resources, p));
  const timeout = BigInt(job.timeoutS);
  const lowest = rates.length ? rates.reduce((a, b) => (a < b ? a : b)) : undefined;
  const highest = rates.length ? rates.reduce((a, b) => (a > b ? a : b)) : undefined;
  // Who the matcher would pick now, preferring a provider that holds the job's image or inputs, as its round does.
  const queued: QueuedJob = { ...job, id: "quote", matchDeadline: Number.MAX_SAFE_INTEGER };
  // The holders the matcher itself was given (those with room), so the pick's bytes are read from the same list.
  let seen: ReadonlyMap<string, number> | undefined;
  const watched: SavedBytes | undefined = savedBytes && ((j, hasRoom) => (seen = savedBytes(j, hasRoom)));
  const [pick] = matchJobs(fitting, [queued], watched).assignments;
  // Sizes are the providers' claims: their sum is kept a safe integer.
  const warmBytes = pick ? Math.min(seen?.get(pick.provider) ?? 0, Number.MAX_SAFE_INTEGER) : 0;
  return {
    providers_online: providers.length,
    providers_fit: fitting.length,
    providers_free: fitting.filter(hasRoom).length,
    providers_within_price: fitting.filter((_, i) => rates[i]! * timeout <= job.maxPriceWei).length,
    rate_wei_per_second: lowest === undefined ? null : { lowest: lowest.toString(), highest: highest!.toString() },
    offered_rate_wei_per_second: pick ? pick.rateWeiPerSecond.toString() : null,
    max_cost_wei: pick ? pick.maxAmountWei.toString() : null,
    offered_warm_bytes: warmBytes,
    matches_now: pick !== undefined,
    detail: pick
      ? "a provider that fits, within the price, has room now: the job would be offered at once"
      : (explainNeverFits({ ...job, id: "", matchDeadline: 0 }, providers) ?? "every provider that fits within the price is busy now: the job would wait in the queue for one"),
  };
}
