// API keys: `pond_sk_` + 32 random bytes. Shown once; stored only as SHA-256.
import { randomBytes, sha256Hex, toBase64Url } from "../security/randomToken.ts";

export const API_KEY_PREFIX = "pond_sk_";

export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${toBase64Url(randomBytes(32))}`;
}

export function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}

/** Enough of a key to recognise it in a listing, never enough to use it. */
export function displayPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + 6);
}

export function looksLikeApiKey(value: string): boolean {
  return /^pond_sk_[A-Za-z0-9_-]{43}$/.test(value);
}
