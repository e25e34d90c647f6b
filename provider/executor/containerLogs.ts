// A container's output, read from Docker's json-file log rather than an attach:
// the log holds everything the container printed, also while no daemon was
// there to read it, so a re-adopted container's output is read on from the
// last entry forwarded. A follow stream can end before Docker has written the
// last (unterminated) line, so a final read picks up whatever came after.
import type Docker from "dockerode";
import { isAfter, LogFrameParser, sinceParameter, type LogEntry } from "./logFrames.ts";

/** How long the follow stream may take to end once the container has exited. */
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
  stream.on("data", (data: Buffer) => deliver(parser.push(data)));
  const ended = new Promise<void>((resolve) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", resolve);
  });
  return {
    async finish() {
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, FOLLOW_END_MS))]);
      stream.destroy();
      const since = last ? { since: sinceParameter(last) } : {};
      const rest = (await container.logs({ stdout: true, stderr: true, timestamps: true, ...since, follow: false } as Docker.ContainerLogsOptions & { follow: false })) as Buffer;
      deliver(new LogFrameParser().push(rest));
    },
  };
}
