// Server-sent events (text/event-stream) split into events as chunks arrive, as
// the HTML standard reads them: fields event, data (joined over lines), id;
// comments and `retry:` skipped; a block without data is no event. Shared by the
// SDK and the dashboard, which read `GET /v1/jobs/:id/logs` with fetch (an
// EventSource in a browser cannot send the Authorization header). Pure.

export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
}

export class EventStreamParser {
  private buffer = "";

  feed(chunk: string): ServerSentEvent[] {
    this.buffer += chunk;
    const events: ServerSentEvent[] = [];
    for (;;) {
      const match = /\r\n\r\n|\n\n|\r\r/.exec(this.buffer);
      if (!match) return events;
      const block = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = parseBlock(block);
      if (event) events.push(event);
    }
  }
}

function parseBlock(block: string): ServerSentEvent | undefined {
  let event = "message";
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const raw = colon < 0 ? "" : line.slice(colon + 1);
    const value = raw.startsWith(" ") ? raw.slice(1) : raw;
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) id = value;
  }
  if (data.length === 0) return undefined;
  return { event, data: data.join("\n"), ...(id !== undefined ? { id } : {}) };
}
