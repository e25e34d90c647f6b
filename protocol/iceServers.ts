// STUN/TURN servers as WebRTC peers take them (the browser's RTCIceServer shape),
// and short-lived TURN credentials in the "TURN REST API" scheme that coturn's
// `use-auth-secret` checks. WebCrypto only, so the Worker (workerd), Node and a
// browser share this code.
import { z } from "zod";

export const IceServerUrl = z
  .string()
  .max(512)
  .regex(/^(stun|turn|turns):[^\s]+$/, 'must be a "stun:", "turn:" or "turns:" URL such as "turn:turn.example.org:3478?transport=udp"');

export const IceServer = z.object({
  urls: z.array(IceServerUrl).min(1).max(8),
  username: z.string().max(512).optional(),
  credential: z.string().max(512).optional(),
});
export type IceServer = z.infer<typeof IceServer>;

export interface TurnRestCredentialParameters {
  /** coturn's `static-auth-secret`. */
  secret: string;
  /** Who the credential is for (logged by coturn); must not contain ':'. */
  user: string;
  ttlSeconds: number;
  /** Defaults to the current time; tests pass a fixed one. */
  nowMs?: number;
}

export interface TurnRestCredential {
  username: string;
  credential: string;
  expiresAtSeconds: number;
}

/** username = `${expiry unix seconds}:${user}`, credential = base64(HMAC-SHA1(secret, username)). */
export async function turnRestCredential({ secret, user, ttlSeconds, nowMs = Date.now() }: TurnRestCredentialParameters): Promise<TurnRestCredential> {
  if (user.includes(":")) throw new TypeError(`a TURN REST user must not contain ':' (got "${user}")`);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`ttlSeconds must be a positive integer (got ${ttlSeconds})`);
  const expiresAtSeconds = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expiresAtSeconds}:${user}`;
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(username)));
  return { username, credential: btoa(String.fromCharCode(...mac)), expiresAtSeconds };
}
