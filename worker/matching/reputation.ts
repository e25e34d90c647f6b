// A provider's standing, from its on-chain counters. Pure. Settled jobs build
// it slowly (log-scaled); a challenge costs a little (it may be frivolous),
// a slash (a proven wrong result) costs far more.
export interface ReputationCounters {
  jobsSettled: number;
  jobsChallenged: number;
  jobsSlashed: number;
}

export function reputationScore(c: ReputationCounters): number {
  return Math.log2(1 + c.jobsSettled) - 0.5 * c.jobsChallenged - 10 * c.jobsSlashed;
}
