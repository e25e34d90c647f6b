// A container's output, read from Docker's json-file log rather than an attach:
// the log holds everything the container printed, also while no daemon was
// there to read it, so a re-adopted container's output is read on from the
// last entry forwarded. A follow stream can end before Docker has written the
// last (unterminated) line, so a final read picks up whatever came after. That
// read is held in memory whole, so it waits for the follow stream to catch up
// first: after a flood the stream may still be far behind when the job exits.
import type Docker from "dockerode";
import { isAfter, LogFrameParser, sinceParameter, type LogEntry } from "./logFrames.ts";

/** How long the follow stream may go quiet, once the container has exited, before it is taken to have ended. */
const FOLLOW_END_MS = 2_000;

export interface LogReader {
  /** Call once the container has exited: reads what the follow stream missed, then stops. */
  finish(): Promise<void>;
}

export async function readContainerLogs(container: Docker.Container, after: string | undefined, onEntry: (entry: LogEntry) => void): Promise<LogReader> {
  let last = after;
  const deliver = (entries: LogEntry[]) => {
    for (const entry of entries) {
      // `since` is inclusive, and the final read overlaps the follow: each entry once.
      if (!isAfter(entry.cursor, last)) continue;
      last = entry.cursor;
      onEntry(entry);
    }
  };
  const options = { stdout: true, stderr: true, timestamps: true, ...(last ? { since: sinceParameter(last) } : {}) };
  const stream = (await container.logs({ ...options, follow: true } as Docker.ContainerLogsOptions & { follow: true })) as NodeJS.ReadableStream & { destroy(): void };
  const parser = new LogFrameParser();
  let lastDataAt = Date.now();
  stream.on("data", (data: Buffer) => {
    lastDataAt = Date.now();
    deliver(parser.push(data));
  });
  let hasEnded = false;
  const ended = new Promise<void>((resolve) => {
    const end = () => {
      hasEnded = true;
      resolve();
    };
    stream.on("end", end);
    stream.on("close", end);
    stream.on("error", end);
  });
  return {
    async finish() {
      // Still reading while it brings output: it ends on its own once it is through Docker's log.
      while (!hasEnded) {
        const quietFor = Date.now() - lastDataAt;
        if (quietFor >= FOLLOW_END_MS) break;
        await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, FOLLOW_END_MS - quietFor))]);
      }
      stream.destroy();
      const since = last ? { since: sinceParameter(last) } : {};
      const rest = (await container.logs({ stdout: true, stderr: true, timestamps: true, ...since, follow: false } as Docker.ContainerLogsOptions & { follow: false })) as Buffer;
      deliver(new LogFrameParser().push(rest));
    },
  };
}
