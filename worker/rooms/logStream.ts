// What a new reader of `GET /v1/jobs/:id/logs` gets before the live events:
// opened without Last-Event-ID, the tail so far (as one `log` event under the
// newest event's id); with one, every event after it that the room still keeps
// (with a note first when some are no longer kept). A job that has ended gets
// `done` after that and no live events; one that has ended with nothing left to
// send gets no stream at all (204, so EventSource clients stop reconnecting).
import { isTerminal, type JobStatus } from "../../protocol/jobStatus.ts";
import { logLimits } from "../../protocol/limits.ts";
import type { LogBuffer, RoomEvent } from "./logBuffer.ts";
import { sseEvent, sseRetry } from "./sse.ts";

export type StreamOpening =
  | { kind: "nothing-left" }
  | {
      kind: "events";
      chunks: Uint8Array[];
      /** The id of the newest event the reader has with `chunks`. */
      lastId: number;
      /** Whether live events follow (the job has not ended). */
      live: boolean;
    };

export interface OpeningRequest {
  /** The job's status as the room has it, or the stored job's when that one has ended and the room has not heard. */
  status: JobStatus | undefined;
  /** The tail stored on the job: what a room with no output of its own shows. */
  storedTail: string;
  /** The `Last-Event-ID` header as the reader sent it. */
  lastEventId: string | null;
}

export const MISSED_OUTPUT_NOTICE = `\n[pond: output is missing here: it came while this stream was away, and a job's room keeps only its newest ${logLimits.roomBufferBytes / 1024} KiB]\n`;

export function openingFor(buffer: LogBuffer, request: OpeningRequest): StreamOpening {
  const ended = request.status !== undefined && isTerminal(request.status);
  const last = buffer.lastSeq;
  const resumeFrom = resumePoint(request.lastEventId, last);
  if (ended && resumeFrom !== undefined && resumeFrom >= last) return { kind: "nothing-left" };
  const chunks = [sseRetry(logLimits.sseRetryMs)];
  if (resumeFrom === undefined) {
    const tail = buffer.lastLogSeq > 0 ? buffer.tail() : request.storedTail;
    if (tail.length > 0) chunks.push(sseEvent("log", { data: tail }, last));
  } else {
    const { events, complete } = buffer.after(resumeFrom);
    if (!complete) chunks.push(sseEvent("log", { data: MISSED_OUTPUT_NOTICE }, events[0]!.seq - 1));
    for (const event of events) chunks.push(encodeRoomEvent(event));
  }
  if (ended) chunks.push(sseEvent("done", { status: request.status }, last));
  return { kind: "events", chunks, lastId: last, live: !ended };
}

export function encodeRoomEvent(event: RoomEvent): Uint8Array {
  return event.kind === "log" ? sseEvent("log", { data: event.data }, event.seq) : sseEvent("status", { status: event.data }, event.seq);
}

/** The event a reader last saw, when it is one of this room's (a number no later than its newest). */
function resumePoint(lastEventId: string | null, last: number): number | undefined {
  if (lastEventId === null || !/^\d{1,15}$/.test(lastEventId.trim())) return undefined;
  const seq = Number(lastEventId.trim());
  return seq <= last ? seq : undefined;
}
