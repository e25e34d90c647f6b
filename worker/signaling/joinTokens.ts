// Single-use tokens a browser joins a job's rendezvous with: a WebSocket from a
// page cannot carry an Authorization header, so the page asks the API (with its
// key) for a token that works once, for one job, for a minute.
import { randomBytes, sha256Hex, toBase64Url } from "../security/randomToken.ts";
import type { RendezvousStore } from "./rendezvousStore.ts";

export const JOIN_TOKEN_TTL_MS = 60_000;

export async function issueJoinToken(store: RendezvousStore, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
  const token = `pond_jt_${toBase64Url(randomBytes(24))}`;
  const expiresAt = now + JOIN_TOKEN_TTL_MS;
  store.addToken(await sha256Hex(token), expiresAt);
  return { token, expiresAt };
}

export async function spendJoinToken(store: RendezvousStore, token: string, now = Date.now()): Promise<boolean> {
  return store.spendToken(await sha256Hex(token), now);
}
