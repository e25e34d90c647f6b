// The hub's provider sockets (Hibernation API): each carries who it is for and
// whether it has proved that, so the object can sleep between messages.
import type { Address } from "viem";
import { HUB_PROTOCOL_VERSION, type HubMessage } from "../../protocol/hubMessages.ts";
import type { HubState } from "./hubState.ts";

export interface SocketAttachment {
  address: Address;
  nonce: string;
  authed: boolean;
  connectedAt: number;
}

export function attachmentOf(ws: WebSocket): SocketAttachment | null {
  return ws.deserializeAttachment() as SocketAttachment | null;
}

export function authedSockets(state: HubState, address: string): WebSocket[] {
  return state.ctx.getWebSockets(address).filter((ws) => attachmentOf(ws)?.authed);
}

export function socketOf(state: HubState, address: string): WebSocket | undefined {
  return authedSockets(state, address)[0];
}

export function send(ws: WebSocket, message: HubMessage): void {
  ws.send(JSON.stringify(message));
}

export function sendError(ws: WebSocket, code: string, message: string): void {
  send(ws, { v: HUB_PROTOCOL_VERSION, type: "error", code, message });
}

/** Sends to the provider's live socket, if it has one; whether it did. */
export function sendTo(state: HubState, address: string, message: HubMessage): boolean {
  const ws = socketOf(state, address);
  if (ws) send(ws, message);
  return ws !== undefined;
}
