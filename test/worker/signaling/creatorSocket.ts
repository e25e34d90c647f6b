// The creator's end of a job's signaling in workerd tests: a WebSocket to the
// job's rendezvous through the Worker, with the frames it receives in order.
import { SELF } from "cloudflare:test";
import type { ServerSignal } from "../../../protocol/signaling.ts";
import { ORIGIN } from "../client.ts";

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
  const inbox: ServerSignal[] = [];
  const wakers = new Set<() => void>();
  ws.addEventListener("message", (event) => {
    inbox.push(JSON.parse(String(event.data)) as ServerSignal);
    for (const wake of [...wakers]) wake();
  });
  const next = (type: ServerSignal["type"], timeoutMs = 10_000) =>
    new Promise<ServerSignal>((resolve, reject) => {
      const look = () => {
        const i = inbox.findIndex((m) => m.type === type);
        if (i < 0) return false;
        wakers.delete(look);
        clearTimeout(timer);
        resolve(inbox.splice(i, 1)[0]!);
        return true;
      };
      const timer = setTimeout(() => {
        wakers.delete(look);
        reject(new Error(`no ${type} within ${timeoutMs} ms (have: ${inbox.map((m) => m.type).join(", ") || "nothing"})`));
      }, timeoutMs);
      if (!look()) wakers.add(look);
    });
  return Object.assign(response, { creator: { ws, next, send: (m: unknown) => ws.send(JSON.stringify(m)) } });
}
