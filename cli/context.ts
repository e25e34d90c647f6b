// What every command needs: the global options, the API client (logged in or
// not), the creator's wallet, and where to print.
import type { Command } from "commander";
import type { PrivateKeyAccount } from "viem/accounts";
import { PondClient } from "../sdk/index.ts";
import { creatorWallet, readCliConfig } from "./config.ts";
import { UsageError } from "./errors.ts";
import { exitCodes } from "./exitCodes.ts";
import { createOutput, type Output } from "./output.ts";
import { createProgress, type Progress } from "./progress.ts";
import { terminalText } from "./terminalText.ts";

export interface GlobalOptions {
  api?: string;
  json?: boolean;
}

/** How the CLI moves files peer to peer: from the environment, read once here. */
export interface P2pSettings {
  /** POND_P2P=off sends everything through the API's relay. */
  enabled: boolean;
  /** POND_P2P_CONNECT_TIMEOUT_MS: how long to wait for a peer connection before the relay. */
  connectTimeoutMs: number;
  /** POND_WEBRTC_BIND_ADDRESS: gather candidates on this local address only. */
  bindAddress?: string;
}

export function p2pSettingsFrom(env: NodeJS.ProcessEnv): P2pSettings {
  const timeout = Number(env.POND_P2P_CONNECT_TIMEOUT_MS ?? "5000");
  if (!Number.isInteger(timeout) || timeout < 500) throw new UsageError("POND_P2P_CONNECT_TIMEOUT_MS must be a whole number of milliseconds, at least 500");
  return { enabled: env.POND_P2P !== "off", connectTimeoutMs: timeout, ...(env.POND_WEBRTC_BIND_ADDRESS ? { bindAddress: env.POND_WEBRTC_BIND_ADDRESS } : {}) };
}

export interface CliContext {
  output: Output;
  p2p: P2pSettings;
  progress: Progress;
  /** The API from --api, else from `pond login`. */
  api(): Promise<string>;
  /** A client with the stored API key; refuses when not logged in. */
  client(): Promise<PondClient>;
  /** A client without a key, for public routes. */
  anonymous(): Promise<PondClient>;
  wallet(): Promise<PrivateKeyAccount>;
}

export function contextOf(program: Command): CliContext {
  const options = () => program.opts<GlobalOptions>();
  const json = Boolean(options().json);
  const api = async () => {
    const chosen = options().api ?? (await readCliConfig()).api;
    if (!chosen) throw new UsageError("no API to talk to: run `pond login --api <url>` first, or pass --api <url>");
    return chosen;
  };
  return {
    output: createOutput(json),
    progress: createProgress(process.stderr, !json),
    p2p: p2pSettingsFrom(process.env),
    api,
    async client() {
      const config = await readCliConfig();
      if (!config.apiKey) throw new UsageError("not logged in: run `pond login --api <url>`", exitCodes.unauthorized);
      return new PondClient({ baseUrl: await api(), apiKey: config.apiKey });
    },
    async anonymous() {
      return new PondClient({ baseUrl: await api() });
    },
    wallet: creatorWallet,
  };
}

/** Parses an integer flag, written in decimal digits (not "", "0x1F" nor "1e20", which Number takes), or says what is wrong with it. */
export function integer(value: string): number {
  const n = Number(value);
  if (!/^\s*[-+]?\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`"${terminalText(value.slice(0, 40))}" is not a whole number`);
  return n;
}

/** Parses a number flag (CPUs may be fractional). */
export function decimal(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`"${value}" is not a number`);
  return n;
}

/** Collects a repeatable option. */
export const repeated = (value: string, previous: string[] = []) => [...previous, value];

/** KEY=VALUE pairs, for --env and -p. */
export function pairs(items: readonly string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`${what} must be KEY=VALUE, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}
