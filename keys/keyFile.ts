// An Ethereum key kept in a file only its owner can read (the provider's
// identity, a creator's wallet): generated on first use. The key never leaves
// this file and never appears in a log. Node only: the Worker never imports it.
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

export class KeyFileError extends Error {
  override name = "KeyFileError";
}

/** The order of secp256k1: a private key is a number from 1 to n − 1. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** `text` as a private key, or an KeyFileError naming `source` and what is wrong with it. */
export function parsePrivateKey(text: string, source: string): Hex {
  const key = text.trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new KeyFileError(`${source} does not hold a 0x-prefixed 32-byte private key`);
  const value = BigInt(key);
  if (value === 0n || value >= SECP256K1_N) throw new KeyFileError(`${source} holds 32 bytes that are not a valid secp256k1 private key (it must be between 1 and n−1); generate a new key`);
  return key as Hex;
}

export async function loadOrCreateKeyFile(keyFile: string): Promise<{ account: PrivateKeyAccount; created: boolean }> {
  let key: string | undefined;
  try {
    key = (await readFile(keyFile, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new KeyFileError(`cannot read the key file ${keyFile}: ${(error as Error).message}`);
  }
  if (key !== undefined) {
    const privateKey = parsePrivateKey(key, keyFile);
    const mode = (await stat(keyFile)).mode & 0o777;
    // Readable by others (copied in by hand?): tighten it rather than refuse to start.
    if (mode & 0o077) await chmod(keyFile, 0o600);
    return { account: privateKeyToAccount(privateKey), created: false };
  }
  const fresh = generatePrivateKey();
  await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
  await writeFile(keyFile, `${fresh}\n`, { mode: 0o600, flag: "wx" });
  return { account: privateKeyToAccount(fresh), created: true };
}
