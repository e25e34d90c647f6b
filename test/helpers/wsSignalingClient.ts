// A peer's side of the test WebSocket relay (test/helpers/wsSignalingRelay.ts).
import WebSocket from "ws";
import type { PeerRole } from "../../protocol/signaling.ts";

export interface WsSignalingClient {
  send(raw: string): void;
  onFrame(listener: (raw: string) => void): void;
  close(): void;
}

export async function connectSignaling(url: string, role: PeerRole): Promise<WsSignalingClient> {
  const socket = new WebSocket(`${url}/?role=${role}`);
  await new Promise<void>((resolve, reject) => socket.once("open", () => resolve()).once("error", reject));
  return {
    send: (raw) => socket.send(raw),
    onFrame: (listener) => socket.on("message", (data) => listener(data.toString())),
    close: () => socket.close(),
  };
}
