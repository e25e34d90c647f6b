// The page's side of a job's signaling: a WebSocket to the job's rendezvous,
// opened with a short-lived single-use token (a browser cannot set headers on
// a WebSocket, so the API key goes only to the token route). The page signs in
// as the job's creator; the server stamps that on everything it relays.
import { parseServerSignal, SIGNALING_PROTOCOL_VERSION, type ClientSignal, type PeerRole, type ServerSignal } from "../../protocol/signaling.ts";
import { apiRequest } from "../api/http.ts";

export interface JobSignaling {
  send(dst: PeerRole, message: Pick<ClientSignal, "type" | "payload">): void;
  /** Every frame from the server, parsed; a frame that does not parse is dropped (and said on the console). */
  onSignal(listener: (signal: ServerSignal) => void): void;
  close(): void;
}

export async function openJobSignaling(jobId: string): Promise<JobSignaling> {
  const response = await apiRequest(`/v1/jobs/${encodeURIComponent(jobId)}/signal-token`, { method: "POST", auth: true });
  const { url } = (await response.json()) as { url: string };
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error("the job's signaling connection could not be opened")), { once: true });
  });
  const listeners: Array<(signal: ServerSignal) => void> = [];
  socket.addEventListener("message", (event: MessageEvent<string>) => {
    if (typeof event.data !== "string") return;
    const parsed = parseServerSignal(event.data);
    if (!parsed.ok) return console.warn(parsed.error);
    for (const listener of listeners) listener(parsed.message);
  });
  return {
    send(dst, message) {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ v: SIGNALING_PROTOCOL_VERSION, dst, ...message }));
    },
    onSignal: (listener) => void listeners.push(listener),
    close: () => socket.close(1000, "done"),
  };
}
