// The creator's end of a job's signaling: a WebSocket to
// /v1/jobs/{id}/signal authenticated by the API key. Frames are parsed with
// the shared schema; each goes to every listener.
import WebSocket from "ws";
import { parseServerSignal, type ClientSignal, type ServerSignal } from "../../protocol/signaling.ts";

/** Frames that came before anyone listened (offers held for this side arrive the moment it joins). */
const MAX_EARLY_FRAMES = 64;

export class SignalingSocket {
  private readonly listeners = new Set<(frame: ServerSignal) => void>();
  private early: ServerSignal[] | undefined = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data, isBinary) => {
      if (isBinary) return;
      const parsed = parseServerSignal(data.toString());
      if (!parsed.ok) return;
      if (this.early) {
        if (this.early.length < MAX_EARLY_FRAMES) this.early.push(parsed.message);
        return;
      }
      for (const listener of [...this.listeners]) listener(parsed.message);
    });
  }

  static async open(api: string, apiKey: string, jobId: string, timeoutMs = 10_000): Promise<SignalingSocket> {
    const url = new URL(`/v1/jobs/${encodeURIComponent(jobId)}/signal`, api);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${apiKey}` }, handshakeTimeout: timeoutMs });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", (error) => reject(new Error(`could not join job ${jobId}'s signaling: ${error.message}`)));
      socket.once("unexpected-response", (_request, response) => reject(new Error(`could not join job ${jobId}'s signaling: HTTP ${response.statusCode}`)));
    });
    return new SignalingSocket(socket);
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(signal: ClientSignal): void {
    if (this.open) this.socket.send(JSON.stringify(signal));
  }

  /** Every frame from now on; the first subscriber also gets what came before it. */
  subscribe(listener: (frame: ServerSignal) => void): () => void {
    this.listeners.add(listener);
    const early = this.early;
    this.early = undefined;
    if (early?.length) queueMicrotask(() => early.forEach((frame) => listener(frame)));
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.socket.close(1000, "done");
  }
}
