// Where the CLI keeps what it needs between runs: the API URL, the API key,
// and the creator's wallet key (created on first login, mode 0600).
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { z } from "zod";
import { loadOrCreateKeyFile, parsePrivateKey } from "../keys/keyFile.ts";

const CliConfig = z.object({ api: z.string().optional(), apiKey: z.string().optional() });
export type CliConfig = z.infer<typeof CliConfig>;

export function configDir(): string {
  return process.env.POND_HOME ?? join(homedir(), ".pond");
}

const configFile = () => join(configDir(), "cli.json");
const walletFile = () => join(configDir(), "creator.key");

export async function readCliConfig(): Promise<CliConfig> {
  try {
    return CliConfig.parse(JSON.parse(await readFile(configFile(), "utf8")));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new Error(`${configFile()} is not a valid Pond CLI config; delete it and log in again`);
  }
}

export async function writeCliConfig(config: CliConfig): Promise<void> {
  await mkdir(dirname(configFile()), { recursive: true, mode: 0o700 });
  await writeFile(configFile(), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(configFile(), 0o600);
}

/** The creator's wallet: POND_PRIVATE_KEY, else the key file, created on first use. */
export async function creatorWallet(): Promise<PrivateKeyAccount> {
  const fromEnv = process.env.POND_PRIVATE_KEY;
  if (fromEnv) return privateKeyToAccount(parsePrivateKey(fromEnv, "POND_PRIVATE_KEY"));
  return (await loadOrCreateKeyFile(walletFile())).account;
}
