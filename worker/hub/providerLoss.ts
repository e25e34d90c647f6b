// What happens to a job whose provider lost it: gone past the grace period, or
// back (a restart) without it. Policy: the container had no network and wrote
// nothing we kept, so running it again is safe; a job is requeued until it has
// used MAX_JOB_ATTEMPTS attempts, then it fails and says why. The wording says
// which of the two happened: a provider back in 4 s did not "fail to come back".
export type LossDecision = { action: "requeue"; detail: string } | { action: "fail"; error: string };

/** `gone`: disconnected for longer than the grace period; `restarted`: reconnected, but no longer running the job. */
export type LossCause = "gone" | "restarted";

export function decideLostJob(job: { attempt: number }, provider: string, maxAttempts: number, graceMs: number, cause: LossCause): LossDecision {
  const lost =
    cause === "restarted"
      ? `provider ${provider} came back without the job (it restarted and no longer had it)`
      : `provider ${provider} disconnected and did not come back within ${Math.round(graceMs / 1000)} s`;
  if (job.attempt + 1 < maxAttempts) return { action: "requeue", detail: `${lost}; requeued (attempt ${job.attempt + 2} of ${maxAttempts})` };
  return { action: "fail", error: `${lost}; the job used all ${maxAttempts} attempts` };
}
