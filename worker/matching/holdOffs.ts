// Providers a matchmaker offers nothing for a while, in its SQLite. A provider that
// declined a job outright is never offered that job again (MatchStore.exclude); one
// that declined as busy (its room still in use: a container still stopping, a view
// that differs after a restart, a drain) or let an offer go unanswered (a connection
// cut mid-offer, a daemon restarting) may take it later. Such a provider is held off
// from every job, not just that one, since what it said is about itself: for a time
// that doubles each time, up to a bound, and starts over once it accepts an offer.
// So a provider that always says "busy" costs a matchmaker one offer per period,
// however many jobs wait, and never keeps a job from another provider.

/** The reads a round makes, answered from the primary key and a partial index (test/worker/matching/holdOffs.test.ts checks their plans). */
export const HOLD_OFF_QUERIES = {
  heldOff: "SELECT address FROM provider_hold_offs WHERE lifted = 0",
  nextEnd: "SELECT MIN(until) AS at FROM provider_hold_offs WHERE lifted = 0",
  ended: "SELECT COUNT(*) AS n FROM provider_hold_offs WHERE lifted = 0 AND until <= ?",
} as const;

/** The longest hold-off, in offer timeouts: 60 s at the default 5 s. */
export const MAX_HOLD_OFF_FACTOR = 12;
/** A hold-off lifted this long ago is forgotten: the provider's next one is the first length again. */
export const FORGET_AFTER_MS = 60 * 60_000;

export class HoldOffs {
  /** The providers held off now, kept in step with the table (read once per object). */
  private held: Set<string> | undefined;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS provider_hold_offs (
      address TEXT PRIMARY KEY, until INTEGER NOT NULL, times INTEGER NOT NULL, lifted INTEGER NOT NULL DEFAULT 0)`);
    sql.exec("CREATE INDEX IF NOT EXISTS provider_hold_offs_pending ON provider_hold_offs(until) WHERE lifted = 0");
  }

  /** Holds `address` off until `now` plus `baseMs`, doubled for each earlier time, at most MAX_HOLD_OFF_FACTOR × `baseMs`. Returns when it ends. */
  hold(address: string, now: number, baseMs: number): number {
    const row = this.sql.exec("SELECT times FROM provider_hold_offs WHERE address = ?", address).toArray()[0];
    const times = row === undefined ? 0 : Number(row.times);
    const until = now + Math.min(baseMs * 2 ** Math.min(times, 30), baseMs * MAX_HOLD_OFF_FACTOR);
    this.sql.exec(
      `INSERT INTO provider_hold_offs (address, until, times) VALUES (?, ?, 1)
       ON CONFLICT(address) DO UPDATE SET until = excluded.until, times = times + 1, lifted = 0`,
      address,
      until,
    );
    this.current().add(address);
    return until;
  }

  /** The provider took an offer: it is working as it should, and its next hold-off is the first length again. */
  forget(address: string): void {
    this.sql.exec("DELETE FROM provider_hold_offs WHERE address = ?", address);
    this.held?.delete(address);
  }

  /** The providers held off now (lifted ones excepted). */
  current(): Set<string> {
    this.held ??= new Set(this.sql.exec(HOLD_OFF_QUERIES.heldOff).toArray().map((row) => String(row.address)));
    return this.held;
  }

  /** When the next hold-off ends, if any is pending. */
  nextEnd(): number | undefined {
    const at = this.sql.exec(HOLD_OFF_QUERIES.nextEnd).toArray()[0]?.at;
    return at === null || at === undefined ? undefined : Number(at);
  }

  /**
   * Lifts the hold-offs that ended by `now`; their count stays, so the next one is longer. Returns
   * whether any was lifted: a provider may be offered jobs again, so every waiting job must be looked at.
   */
  liftEnded(now: number): boolean {
    const ended = Number(this.sql.exec(HOLD_OFF_QUERIES.ended, now).toArray()[0]?.n ?? 0);
    if (ended === 0) return false;
    this.sql.exec("UPDATE provider_hold_offs SET lifted = 1 WHERE lifted = 0 AND until <= ?", now);
    this.sql.exec("DELETE FROM provider_hold_offs WHERE lifted = 1 AND until <= ?", now - FORGET_AFTER_MS);
    this.held = undefined;
    return true;
  }
}
