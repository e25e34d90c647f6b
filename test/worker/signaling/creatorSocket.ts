// The creator's end of a job's signaling in workerd tests: a WebSocket to the
// job's rendezvous through the Worker, with the frames it receives in order.
import { SELF } from "cloudflare:test";
import type { ServerSignal } from "../../../protocol/signaling.ts";
import { ORIGIN } from "../client.ts";
import { typedInbox } from "../typedInbox.ts";

export interface CreatorSocket {
  ws: WebSocket;
  next(type: ServerSignal["type"], timeoutMs?: number): Promise<ServerSignal>;
  send(message: unknown): void;
}

export async function joinAsCreator(jobId: string, auth: { key?: string; token?: string }): Promise<Response & { creator?: CreatorSocket }> {
  const url = `${ORIGIN}/v1/jobs/${jobId}/signal${auth.token ? `?token=${encodeURIComponent(auth.token)}` : ""}`;
  const response = await SELF.fetch(url, { headers: { upgrade: "websocket", ...(auth.key ? { authorization: `Bearer ${auth.key}` } : {}) } });
  if (response.status !== 101 || !response.webSocket) return response;
  const ws = response.webSocket;
  ws.accept();
  const inbox = typedInbox<ServerSignal>();
  ws.addEventListener("message", (event) => inbox.push(JSON.parse(String(event.data)) as ServerSignal));
  const next = (type: ServerSignal["type"], timeoutMs?: number): Promise<ServerSignal> => inbox.take(type, timeoutMs);
  return Object.assign(response, { creator: { ws, next, send: (m: unknown) => ws.send(JSON.stringify(m)) } });
}
