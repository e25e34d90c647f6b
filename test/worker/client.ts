// Talking to the Worker from inside workerd, as a creator would: sign in with
// a real viem wallet, then call the API with the key.
import { SELF } from "cloudflare:test";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { signSiwe } from "../../sdk/index.ts";
import { SiweNonce } from "../../protocol/account.ts";

export const ORIGIN = "https://pond.test";

export interface Creator {
  account: PrivateKeyAccount;
  key: string;
}

export type NonceFields = SiweNonce;

/**
 * A made-up client address (198.18.0.0/15, the benchmarking block), as Cloudflare's edge would set
 * CF-Connecting-IP: nonces are rate-limited per client, and every test of the run shares one Worker.
 */
export function clientAddress(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return `198.${18 + (bytes[0]! & 1)}.${bytes[1]}.${bytes[2]}`;
}

export async function getNonce(from: string = clientAddress()): Promise<NonceFields> {
  const response = await SELF.fetch(`${ORIGIN}/v1/auth/nonce`, { method: "POST", headers: { "cf-connecting-ip": from } });
  if (response.status !== 200) throw new Error(`nonce refused: ${response.status} ${await response.text()}`);
  return SiweNonce.parse(await response.json());
}

export const signedSiwe = signSiwe;

export async function signIn(account: PrivateKeyAccount = privateKeyToAccount(generatePrivateKey())): Promise<Creator> {
  const body = await signedSiwe(account, await getNonce());
  const response = await post("/v1/auth/keys", body);
  if (response.status !== 201) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  const { key } = (await response.json()) as { key: string };
  return { account, key };
}

export function call(path: string, init: RequestInit & { key?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  return SELF.fetch(`${ORIGIN}${path}`, { ...init, headers });
}

export function post(path: string, body: unknown, init: RequestInit & { key?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json");
  return call(path, { ...init, method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

export const validJob = () => ({
  image: "ghcr.io/pond/example:1.0",
  cmd: ["python", "train.py"],
  resources: { gpus: 1, gpu_vram_mb: 40_000, cpus: 4, memory_mb: 16_384 },
  timeout_s: 600,
  max_price_wei: "1000000000000000",
});
