// The provider's Ethereum key: generated on first start, kept in a file only
// its owner can read. The address is its identity everywhere; the key never
// leaves this file (and never appears in a log).
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

export class IdentityError extends Error {
  override name = "IdentityError";
}

export async function loadOrCreateIdentity(keyFile: string): Promise<{ account: PrivateKeyAccount; created: boolean }> {
  let key: string | undefined;
  try {
    key = (await readFile(keyFile, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new IdentityError(`cannot read the key file ${keyFile}: ${(error as Error).message}`);
  }
  if (key !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new IdentityError(`${keyFile} does not hold a 0x-prefixed 32-byte private key`);
    const mode = (await stat(keyFile)).mode & 0o777;
    // Readable by others (copied in by hand?): tighten it rather than refuse to start.
    if (mode & 0o077) await chmod(keyFile, 0o600);
    return { account: privateKeyToAccount(key as `0x${string}`), created: false };
  }
  const fresh = generatePrivateKey();
  await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
  await writeFile(keyFile, `${fresh}\n`, { mode: 0o600, flag: "wx" });
  return { account: privateKeyToAccount(fresh), created: true };
}
