// The events of a job's room, numbered, in the room's own SQLite storage: its
// output and its status changes, the newest roomBufferBytes of them. Followers
// resume from here (Last-Event-ID), and the tail stored on the job is cut from
// here. The numbers only grow, so an event's number is its SSE id.
import { logLimits } from "../../protocol/limits.ts";
import { tailOf } from "./logTail.ts";

export type RoomEventKind = "log" | "status";

export interface RoomEvent {
  seq: number;
  kind: RoomEventKind;
  data: string;
}

export class LogBuffer {
  private last: number;
  private lastLog: number;
  private size: number;

  constructor(
    private readonly sql: SqlStorage,
    private readonly boundBytes: number = logLimits.roomBufferBytes,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS room_events (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL, size INTEGER NOT NULL)");
    const totals = sql.exec<{ last: number | null; size: number | null }>("SELECT MAX(seq) AS last, SUM(size) AS size FROM room_events").one();
    const logs = sql.exec<{ last: number | null }>("SELECT MAX(seq) AS last FROM room_events WHERE kind = 'log'").one();
    this.last = totals.last ?? 0;
    this.size = totals.size ?? 0;
    this.lastLog = logs.last ?? 0;
  }

  /** The newest event's number (0 before any). */
  get lastSeq(): number {
    return this.last;
  }

  /** The newest output's number: the tail changes only with it. */
  get lastLogSeq(): number {
    return this.lastLog;
  }

  /** Keeps an event under the next number, and lets the oldest go past the bound. */
  append(kind: RoomEventKind, data: string): number {
    const seq = ++this.last;
    if (kind === "log") this.lastLog = seq;
    this.sql.exec("INSERT INTO room_events (seq, kind, data, size) VALUES (?, ?, ?, ?)", seq, kind, data, data.length);
    this.size += data.length;
    // The newest event always stays: one is at most a hub message, far below the bound.
    while (this.size > this.boundBytes) {
      const oldest = this.sql.exec<{ seq: number; size: number }>("SELECT seq, size FROM room_events ORDER BY seq LIMIT 1").one();
      if (oldest.seq === seq) break;
      this.sql.exec("DELETE FROM room_events WHERE seq = ?", oldest.seq);
      this.size -= oldest.size;
    }
    return seq;
  }

  /** The events after `seq`; `complete` is false when some of them are no longer kept. */
  after(seq: number): { events: RoomEvent[]; complete: boolean } {
    const first = this.sql.exec<{ first: number | null }>("SELECT MIN(seq) AS first FROM room_events").one().first;
    const complete = seq >= this.last || (first !== null && seq >= first - 1);
    const events = this.sql.exec<{ seq: number; kind: RoomEventKind; data: string }>("SELECT seq, kind, data FROM room_events WHERE seq > ? ORDER BY seq", seq).toArray();
    return { events: events.map((row) => ({ seq: row.seq, kind: row.kind, data: row.data })), complete };
  }

  /** The tail of the output kept here (logLimits.storedTailBytes), cut at a line boundary where possible. */
  tail(limit: number = logLimits.storedTailBytes): string {
    const newestFirst: string[] = [];
    let length = 0;
    for (const row of this.sql.exec<{ data: string }>("SELECT data FROM room_events WHERE kind = 'log' ORDER BY seq DESC")) {
      newestFirst.push(row.data);
      length += row.data.length;
      // One character past the limit: whether the cut falls at a line's start shows.
      if (length > limit) break;
    }
    return tailOf(newestFirst.reverse().join(""), limit);
  }
}
