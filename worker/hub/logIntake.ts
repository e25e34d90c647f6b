// What a hub holds of one job's log while it waits to reach the job's room. An
// honest daemon forwards within its budget (protocol/limits.ts logLimits), but the
// hub serves every provider of its shard, so a daemon that ignores the budget
// must not grow its memory: past a bound, a job's log messages are dropped here
// and the next one that gets through says how much was.
import { logLimits } from "../../protocol/limits.ts";

/** Log characters one job may have waiting in a hub: twice the most an honest daemon sends at once (its burst and its held tail). */
export const MAX_PENDING_LOG_CHARS = 2 * (logLimits.forwardBurstBytes + logLimits.forwarderTailBytes);

export class LogIntake {
  private readonly pending = new Map<string, number>();
  private readonly dropped = new Map<string, number>();

  /** Whether a piece of `chars` characters for `jobId` may wait its turn; a refused one is counted as dropped. */
  admit(jobId: string, chars: number): boolean {
    const waiting = this.pending.get(jobId) ?? 0;
    if (waiting > 0 && waiting + chars > MAX_PENDING_LOG_CHARS) {
      this.dropped.set(jobId, (this.dropped.get(jobId) ?? 0) + chars);
      return false;
    }
    this.pending.set(jobId, waiting + chars);
    return true;
  }

  /** An admitted piece has been handled (relayed or not). */
  done(jobId: string, chars: number): void {
    const left = (this.pending.get(jobId) ?? 0) - chars;
    if (left > 0) this.pending.set(jobId, left);
    else this.pending.delete(jobId);
  }

  /** `data` as it should reach the room: after a note of what was dropped before it, if anything was. */
  withDropNote(jobId: string, data: string): string {
    const dropped = this.dropped.get(jobId);
    if (dropped === undefined) return data;
    this.dropped.delete(jobId);
    return `\n[pond: the hub dropped ${dropped} characters of output: the provider sent it faster than it could be relayed]\n${data}`;
  }
}
