// Providers a waiting job is kept from for a while, in its matchmaker's SQLite.
// A provider that declined a job outright is never asked again (MatchStore.exclude);
// one that declined only for now (its room still in use: a container still
// stopping, a view that differs after a restart) or let the offer go unanswered
// (a connection cut mid-offer, a daemon restarting) may take it later, so it is
// asked again after a while that doubles each time, up to a bound. A provider
// that always says "busy" thus costs a job one offer per period, never its match.

/** The reads a round makes, each answered from an index (test/worker/matching/holdOffs.test.ts checks their plans). */
export const HOLD_OFF_QUERIES = {
  heldOff: "SELECT job_id, address FROM held_off WHERE lifted = 0",
  nextEnd: "SELECT MIN(until) AS at FROM held_off WHERE lifted = 0",
  ended: "SELECT COUNT(*) AS n FROM held_off WHERE lifted = 0 AND until <= ?",
} as const;

/** The longest hold-off, in offer timeouts: 60 s at the default 5 s. */
export const MAX_HOLD_OFF_FACTOR = 12;

export class HoldOffs {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS held_off (
      job_id TEXT NOT NULL, address TEXT NOT NULL, until INTEGER NOT NULL, times INTEGER NOT NULL,
      lifted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (job_id, address))`);
    sql.exec("CREATE INDEX IF NOT EXISTS held_off_pending ON held_off(until) WHERE lifted = 0");
  }

  /** Keeps `address` from `jobId` until `now` plus `baseMs`, doubled for each earlier time, at most MAX_HOLD_OFF_FACTOR × `baseMs`. Returns when it ends. */
  hold(jobId: string, address: string, now: number, baseMs: number): number {
    const row = this.sql.exec("SELECT times FROM held_off WHERE job_id = ? AND address = ?", jobId, address).toArray()[0];
    const times = row === undefined ? 0 : Number(row.times);
    const until = now + Math.min(baseMs * 2 ** times, baseMs * MAX_HOLD_OFF_FACTOR);
    this.sql.exec(
      `INSERT INTO held_off (job_id, address, until, times) VALUES (?, ?, ?, 1)
       ON CONFLICT(job_id, address) DO UPDATE SET until = excluded.until, times = times + 1, lifted = 0`,
      jobId,
      address,
      until,
    );
    return until;
  }

  /** Each job's providers still held off (lifted ones excepted), by job. */
  current(): Map<string, string[]> {
    const byJob = new Map<string, string[]>();
    for (const row of this.sql.exec(HOLD_OFF_QUERIES.heldOff).toArray()) {
      const jobId = String(row.job_id);
      byJob.set(jobId, [...(byJob.get(jobId) ?? []), String(row.address)]);
    }
    return byJob;
  }

  /** When the next hold-off ends, if any is pending. */
  nextEnd(): number | undefined {
    const at = this.sql.exec(HOLD_OFF_QUERIES.nextEnd).toArray()[0]?.at;
    return at === null || at === undefined ? undefined : Number(at);
  }

  /**
   * Lifts the hold-offs that ended by `now`; their count stays, so the next one is longer. Returns
   * whether any was lifted: a provider may be asked again, so every waiting job must be looked at.
   */
  liftEnded(now: number): boolean {
    const ended = Number(this.sql.exec(HOLD_OFF_QUERIES.ended, now).toArray()[0]?.n ?? 0);
    if (ended > 0) this.sql.exec("UPDATE held_off SET lifted = 1 WHERE lifted = 0 AND until <= ?", now);
    return ended > 0;
  }

  /** The job left the queue, or came back to it afresh. */
  forget(jobId: string): void {
    this.sql.exec("DELETE FROM held_off WHERE job_id = ?", jobId);
  }
}
