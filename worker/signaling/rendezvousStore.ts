// A rendezvous's durable state, in its Durable Object's SQLite: signals waiting
// for a peer that is not there yet, the hub-side peers' addresses, and the
// single-use tokens browsers join with.
import { ServerSignal, type PeerRole } from "../../protocol/signaling.ts";

export interface QueuedSignal {
  seq: number;
  dst: PeerRole;
  src: PeerRole;
  frame: ServerSignal;
  expiresAt: number;
}

export class RendezvousStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS queued (seq INTEGER PRIMARY KEY AUTOINCREMENT, dst TEXT NOT NULL, src TEXT NOT NULL, frame TEXT NOT NULL, expires_at INTEGER NOT NULL)");
    sql.exec("CREATE INDEX IF NOT EXISTS queued_dst ON queued(dst, seq)");
    sql.exec("CREATE TABLE IF NOT EXISTS peers (role TEXT PRIMARY KEY, address TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
  }

  jobId(): string | undefined {
    const row = this.sql.exec("SELECT value FROM meta WHERE key = 'job'").toArray()[0];
    return row ? String(row.value) : undefined;
  }

  setJobId(jobId: string): void {
    this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('job', ?)", jobId);
  }

  queuedCount(dst: PeerRole): number {
    return Number(this.sql.exec("SELECT COUNT(*) AS n FROM queued WHERE dst = ?", dst).one().n);
  }

  enqueue(dst: PeerRole, src: PeerRole, frame: ServerSignal, expiresAt: number): void {
    this.sql.exec("INSERT INTO queued (dst, src, frame, expires_at) VALUES (?, ?, ?, ?)", dst, src, JSON.stringify(frame), expiresAt);
  }

  /** Removes and returns what waits for `dst`, oldest first. */
  takeQueued(dst: PeerRole): QueuedSignal[] {
    const rows = this.sql.exec("DELETE FROM queued WHERE dst = ? RETURNING *", dst).toArray().map(toQueued);
    return rows.sort((a, b) => a.seq - b.seq);
  }

  /** Puts back what could not be delivered after all, keeping its place and deadline. */
  restore(signals: readonly QueuedSignal[]): void {
    for (const s of signals) this.sql.exec("INSERT INTO queued (seq, dst, src, frame, expires_at) VALUES (?, ?, ?, ?, ?)", s.seq, s.dst, s.src, JSON.stringify(s.frame), s.expiresAt);
  }

  takeExpired(now: number): QueuedSignal[] {
    return this.sql.exec("DELETE FROM queued WHERE expires_at <= ? RETURNING *", now).toArray().map(toQueued);
  }

  waitingFor(): PeerRole[] {
    return this.sql.exec("SELECT DISTINCT dst FROM queued").toArray().map((row) => String(row.dst));
  }

  earliestExpiry(): number | undefined {
    const row = this.sql.exec("SELECT MIN(expires_at) AS at FROM queued").toArray()[0];
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
  }

  peerAddress(role: PeerRole): string | undefined {
    const row = this.sql.exec("SELECT address FROM peers WHERE role = ?", role).toArray()[0];
    return row ? String(row.address) : undefined;
  }

  setPeerAddress(role: PeerRole, address: string): void {
    this.sql.exec("INSERT INTO peers (role, address) VALUES (?, ?) ON CONFLICT(role) DO UPDATE SET address = excluded.address", role, address);
  }

  /** Consumers of the job's outputs that have spoken here (protocol/signaling.ts consumerRole). */
  consumerRoles(): `c-${string}`[] {
    return this.sql.exec("SELECT role FROM peers WHERE role LIKE 'c-%'").toArray().map((row) => String(row.role) as `c-${string}`);
  }

  /** Whether a hub-side peer has joined (spoken) and not left. */
  isPresent(role: PeerRole): boolean {
    return this.sql.exec("SELECT 1 FROM meta WHERE key = ?", `present:${role}`).toArray().length > 0;
  }

  setPresent(role: PeerRole, present: boolean): void {
    if (present) this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES (?, '1')", `present:${role}`);
    else this.sql.exec("DELETE FROM meta WHERE key = ?", `present:${role}`);
  }

  addToken(hash: string, expiresAt: number): void {
    this.sql.exec("DELETE FROM tokens WHERE expires_at <= ?", Date.now());
    this.sql.exec("INSERT INTO tokens (hash, expires_at) VALUES (?, ?)", hash, expiresAt);
  }

  /** Spends a token: true once, for a token issued here and not expired. */
  spendToken(hash: string, now: number): boolean {
    return this.sql.exec("DELETE FROM tokens WHERE hash = ? AND expires_at > ?", hash, now).rowsWritten > 0;
  }
}

function toQueued(row: Record<string, SqlStorageValue>): QueuedSignal {
  return { seq: Number(row.seq), dst: String(row.dst), src: String(row.src), frame: ServerSignal.parse(JSON.parse(String(row.frame))), expiresAt: Number(row.expires_at) };
}
