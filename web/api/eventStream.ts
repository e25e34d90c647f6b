// Server-sent events read with fetch, not EventSource: EventSource cannot send
// the Authorization header that `GET /v1/jobs/:id/logs` needs.
import { EventStreamParser, type ServerSentEvent } from "../../protocol/eventStream.ts";

export { EventStreamParser, type ServerSentEvent };

/** Reads a response body to its end, handing each event over as it comes. */
export async function readEventStream(body: ReadableStream<Uint8Array>, onEvent: (event: ServerSentEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new EventStreamParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    // `stream: true` keeps a character split across two chunks whole.
    for (const event of parser.feed(decoder.decode(value, { stream: true }))) onEvent(event);
  }
}
