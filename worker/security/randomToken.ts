// Identifiers and secrets from the platform CSPRNG.

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

function base32(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return out;
}

/** `chars` characters of lower-case base32 (letters and digits only), 5 bits each. */
export function randomToken(chars: number): string {
  return base32(crypto.getRandomValues(new Uint8Array(chars)));
}

/** A random public identifier such as `job_3k9x…` (26 chars of base32, 130 bits). */
export function randomId(prefix: string): string {
  return `${prefix}_${randomToken(26)}`;
}

export function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(value: string): Uint8Array {
  return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
}

export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** HMAC-SHA256 of `input` under a base64 key, as hex. */
export async function hmacSha256Hex(keyBase64: string, input: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", fromBase64(keyBase64), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input))));
}

export async function sha256Hex(input: string | Uint8Array): Promise<string> {
  const data = typeof input === "string" ? new TextEncoder().encode(input) : input;
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}
