// Server-sent events from a fetch response body (a browser's EventSource cannot
// send an Authorization header, so the SDK reads the stream itself), split as the
// standard says (protocol/eventStream.ts); each event's data is JSON.
import { EventStreamParser } from "../protocol/eventStream.ts";

export interface ServerEvent {
  event: string;
  id?: string;
  data: unknown;
}

export async function* readEventStream(body: ReadableStream<Uint8Array<ArrayBuffer>>): AsyncGenerator<ServerEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new EventStreamParser();
  let ended = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        return;
      }
      for (const { event, id, data } of parser.feed(value)) yield { event, ...(id !== undefined ? { id } : {}), data: JSON.parse(data) };
    }
  } finally {
    // A reader that stops early (break, an error) lets go of the connection.
    if (!ended) await reader.cancel().catch(() => undefined);
  }
}
