// Provider sign-in: the upgrade sends a nonce; the daemon signs it (EIP-191);
// an address with stake (where jobs settle on chain) is welcomed, and its older
// socket, if any, is closed: one live connection per provider.
import type { Address, Hex } from "viem";
import { HUB_PROTOCOL_VERSION, providerLoginMessage } from "../../protocol/hubMessages.ts";
import { marketDomain } from "../config/chains.ts";
import { randomBytes, toHex } from "../security/randomToken.ts";
import { checkMessageSignature } from "../security/signatures.ts";
import { alarmNoLaterThan, type HubState } from "./hubState.ts";
import { reputationOf, unregisteredReason } from "./registration.ts";
import { authedSockets, send, sendError, type SocketAttachment } from "./sockets.ts";

export const AUTH_TIMEOUT_MS = 10_000;
export const HEARTBEAT_MS = 10_000;

/** The upgrade, routed here by the Worker with `?address=` already checked. */
export async function acceptConnection(state: HubState, request: Request): Promise<Response> {
  const address = new URL(request.url).searchParams.get("address")!.toLowerCase() as Address;
  const { 0: client, 1: server } = new WebSocketPair();
  state.ctx.acceptWebSocket(server, [address]);
  const nonce = toHex(randomBytes(16));
  server.serializeAttachment({ address, nonce, authed: false, connectedAt: Date.now() } satisfies SocketAttachment);
  send(server, { v: HUB_PROTOCOL_VERSION, type: "hello", nonce });
  await alarmNoLaterThan(state, Date.now() + AUTH_TIMEOUT_MS);
  return new Response(null, { status: 101, webSocket: client });
}

export async function authenticate(state: HubState, ws: WebSocket, attachment: SocketAttachment, signature: Hex): Promise<void> {
  const signed = await checkMessageSignature(attachment.address, providerLoginMessage(attachment.nonce), signature);
  if (!signed.ok) {
    sendError(ws, "auth_failed", `the signature does not prove address ${attachment.address}`);
    ws.close(4401, "authentication failed");
    return;
  }
  const unregistered = await unregisteredReason(state.env, state.config, attachment.address);
  if (unregistered) {
    sendError(ws, "not_registered", unregistered);
    ws.close(4403, "not registered");
    return;
  }
  for (const old of authedSockets(state, attachment.address)) old.close(4409, "replaced by a newer connection");
  ws.serializeAttachment({ ...attachment, authed: true } satisfies SocketAttachment);
  state.store.connect(attachment.address, await reputationOf(state.env, attachment.address));
  const domain = marketDomain(state.config);
  send(ws, {
    v: HUB_PROTOCOL_VERSION,
    type: "welcome",
    address: attachment.address,
    chain_id: Number(domain.chainId),
    verifying_contract: domain.verifyingContract as Address,
    heartbeat_ms: HEARTBEAT_MS,
    grace_ms: state.config.matching.providerGraceMs,
    inline_outputs: true,
  });
  await alarmNoLaterThan(state, Date.now() + HEARTBEAT_MS);
}
