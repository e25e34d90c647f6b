// Docker's log stream, read with timestamps: multiplexed frames (an 8-byte
// header: stream, three zero bytes, payload size), each payload one log entry
// led by its RFC 3339 timestamp. The timestamp is the cursor a restarted daemon
// reads on from. Pure, so every edge (split frames, split characters) is tested.
import { StringDecoder } from "node:string_decoder";

export interface LogEntry {
  text: string;
  /** Docker's timestamp of the entry, as Docker wrote it (nanoseconds, UTC). */
  cursor: string;
}

const HEADER_BYTES = 8;

export class LogFrameParser {
  private pending: Buffer = Buffer.alloc(0);
  // One decoder per stream: a character split across two entries is joined again.
  private readonly decoders = new Map<number, StringDecoder>();

  push(data: Buffer): LogEntry[] {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    const entries: LogEntry[] = [];
    let offset = 0;
    while (this.pending.length - offset >= HEADER_BYTES) {
      const size = this.pending.readUInt32BE(offset + 4);
      if (this.pending.length - offset - HEADER_BYTES < size) break;
      const stream = this.pending[offset]!;
      const payload = this.pending.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + size);
      offset += HEADER_BYTES + size;
      const entry = this.entryOf(stream, payload);
      if (entry) entries.push(entry);
    }
    this.pending = this.pending.subarray(offset);
    return entries;
  }

  private entryOf(stream: number, payload: Buffer): LogEntry | undefined {
    const space = payload.indexOf(0x20);
    if (space <= 0) return undefined;
    const cursor = payload.subarray(0, space).toString("latin1");
    if (cursorNanos(cursor) === undefined) return undefined;
    let decoder = this.decoders.get(stream);
    if (!decoder) this.decoders.set(stream, (decoder = new StringDecoder("utf8")));
    return { text: decoder.write(payload.subarray(space + 1)), cursor };
  }
}

/** A Docker timestamp (`2026-01-02T03:04:05.123456789Z`, any offset) as nanoseconds since the epoch. */
export function cursorNanos(cursor: string): bigint | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(cursor);
  if (!match) return undefined;
  const millis = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(millis)) return undefined;
  return BigInt(millis) * 1_000_000n + BigInt((match[2] ?? "").padEnd(9, "0"));
}

/** Whether entry `cursor` comes after `last` (no `last`, or one that does not parse: everything does, rather than nothing). */
export function isAfter(cursor: string, last: string | undefined): boolean {
  const b = last === undefined ? undefined : cursorNanos(last);
  if (b === undefined) return true;
  const a = cursorNanos(cursor);
  return a !== undefined && a > b;
}

/** The cursor as Docker's `since` parameter takes it: seconds, a dot, nanoseconds. */
export function sinceParameter(cursor: string): string {
  const nanos = cursorNanos(cursor) ?? 0n;
  return `${nanos / 1_000_000_000n}.${(nanos % 1_000_000_000n).toString().padStart(9, "0")}`;
}
