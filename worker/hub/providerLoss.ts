// What happens to a job whose provider vanished and did not come back within
// the grace period. Policy: the container had no network and wrote nothing we
// kept, so running it again is safe; a job is requeued until it has used
// MAX_JOB_ATTEMPTS attempts, then it fails and says why.
export type LossDecision = { action: "requeue"; detail: string } | { action: "fail"; error: string };

export function decideLostJob(job: { attempt: number }, provider: string, maxAttempts: number, graceMs: number): LossDecision {
  const lost = `provider ${provider} disconnected and did not come back within ${Math.round(graceMs / 1000)} s`;
  if (job.attempt + 1 < maxAttempts) return { action: "requeue", detail: `${lost}; requeued (attempt ${job.attempt + 2} of ${maxAttempts})` };
  return { action: "fail", error: `${lost}; the job used all ${maxAttempts} attempts` };
}
