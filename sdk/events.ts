// Server-sent events from a fetch response body (a browser's EventSource cannot
// send an Authorization header, so the SDK reads the stream itself).
export interface ServerEvent {
  event: string;
  id?: string;
  data: unknown;
}

export async function* readEventStream(body: ReadableStream<Uint8Array<ArrayBuffer>>): AsyncGenerator<ServerEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let ended = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        return;
      }
      buffer += value;
      let boundary: number;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1] ?? "message";
        const id = /^id: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        yield { event, ...(id !== undefined ? { id } : {}), data: data === undefined ? undefined : JSON.parse(data) };
      }
    }
  } finally {
    // A reader that stops early (break, an error) lets go of the connection.
    if (!ended) await reader.cancel().catch(() => undefined);
  }
}
