// Secrets we must be able to read back (webhook signing secrets) are stored
// AES-256-GCM encrypted under SECRETS_KEY, never in the clear.
import { fromBase64, randomBytes, toBase64 } from "./randomToken.ts";

async function importKey(keyBase64: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", fromBase64(keyBase64), "AES-GCM", false, ["encrypt", "decrypt"]);
}

export async function sealSecret(keyBase64: string, plaintext: string): Promise<string> {
  const iv = randomBytes(12);
  const key = await importKey(keyBase64);
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(plaintext));
  return `v1.${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

export async function openSecret(keyBase64: string, sealed: string): Promise<string> {
  const [version, iv, data] = sealed.split(".");
  if (version !== "v1" || !iv || !data) throw new Error("sealed secret has an unknown format");
  const key = await importKey(keyBase64);
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv) }, key, fromBase64(data));
  return new TextDecoder().decode(plain);
}
