// Server-sent events framing (one JSON payload per event, each with an id), as
// EventSource reads it.
const encoder = new TextEncoder();

export function sseEvent(event: string, data: unknown, id: number): Uint8Array {
  return encoder.encode(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** How long an EventSource client waits before it reconnects. */
export function sseRetry(ms: number): Uint8Array {
  return encoder.encode(`retry: ${ms}\n\n`);
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
} as const;
