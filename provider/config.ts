// The daemon's configuration: flags over environment (POND_*) over a JSON
// file over defaults, validated once with zod into a typed object.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { EgressRuleText } from "../protocol/egress.ts";
import { ImageRef } from "../protocol/jobSpec.ts";
import { weiString } from "../protocol/wei.ts";

export const ProviderConfig = z.object({
  api: z.url({ protocol: /^https?$/, error: "api must be the http(s) URL of a Pond API, e.g. https://api.pond.dev" }),
  dataDir: z.string().min(1),
  keyFile: z.string().min(1),
  gpuSecondWei: weiString,
  cpuSecondWei: weiString,
  pull: z.enum(["missing", "always", "never"]),
  nvidiaSmi: z.string().min(1),
  maxCpus: z.coerce.number().positive().optional(),
  maxMemoryMb: z.coerce.number().int().positive().optional(),
  drainTimeoutS: z.coerce.number().int().min(0),
  maxOutputBytes: z.coerce.number().int().positive(),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]),
  /** How long a finished job's outputs stay here to be served peer to peer; 0 keeps none. */
  outputRetentionS: z.coerce.number().int().min(0),
  /** How long to wait for a peer connection before a transfer goes through the R2 relay. */
  p2pConnectTimeoutMs: z.coerce.number().int().min(500).max(120_000),
  /** How long a job waits for its creator's inputs to reach the relay before it fails. */
  inputWaitS: z.coerce.number().int().min(1).max(7 * 24 * 3600),
  /** Gather WebRTC candidates on this local address only (e.g. 127.0.0.1 for a test on one machine). */
  webrtcBindAddress: z.string().min(1).optional(),
  /** The most disk the input cache may hold, in MiB; 0 keeps no inputs. Default: a quarter of the data folder's free disk at start. */
  inputCacheMb: z.coerce.number().int().min(0).optional(),
  /** Images pulled at start and kept, advertised warm (from the environment: separated by commas or spaces). */
  prepull: listOf(z.array(ImageRef).max(64)),
  /** Take jobs whose spec allows network egress, through a proxy this daemon runs (docs/providers.md, "Network egress"). */
  egress: z.preprocess((value) => (value === "true" || value === "1" ? true : value === "false" || value === "0" ? false : value), z.boolean()),
  /** Hosts no job may reach here, whatever its allowlist says (rules as a job's: host, host:port, *.domain). */
  egressDeny: listOf(z.array(EgressRuleText).max(256)),
  /** The most a job may move through the proxy, in and out together, in MiB. */
  egressBudgetMb: z.coerce.number().int().min(1),
  /** The most connections one job may hold open through the proxy at once. */
  egressMaxConnections: z.coerce.number().int().min(1).max(1024),
  /** The most every job's egress together may move a second, in and out, in MiB; none when unset (the provider's uplink is the job's). */
  egressRateMb: z.coerce.number().positive().max(100_000).optional(),
  /**
   * Addresses counted reachable although not public: for development and tests only (a model hub
   * stand-in on a private address), named one by one; never any by default.
   */
  egressAllowAddresses: listOf(z.array(z.ipv4().or(z.ipv6())).max(16)),
  /** Development and tests only: non-public addresses a job's image may be pulled from (a registry on loopback); never any by default. */
  registryAllowAddresses: listOf(z.array(z.ipv4().or(z.ipv6())).max(16)),
  /** Development and tests only (a machine without DNS): fixed answers, `name=address`, used instead of a lookup for those names. */
  egressResolve: listOf(z.array(z.string().regex(/^[a-z0-9.-]+=[0-9a-f.:]+$/i, "must be name=address, e.g. model-hub.test=10.203.0.2")).max(16)),
});
export type ProviderConfig = z.infer<typeof ProviderConfig>;

/** A list from the environment comes as one string, separated by commas or spaces. */
function listOf<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (typeof value === "string" ? value.split(/[\s,]+/).filter(Boolean) : value), schema);
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const envNames: Record<keyof ProviderConfig, string> = {
  api: "POND_API",
  dataDir: "POND_DATA_DIR",
  keyFile: "POND_KEY_FILE",
  gpuSecondWei: "POND_GPU_SECOND_WEI",
  cpuSecondWei: "POND_CPU_SECOND_WEI",
  pull: "POND_PULL",
  nvidiaSmi: "POND_NVIDIA_SMI",
  maxCpus: "POND_MAX_CPUS",
  maxMemoryMb: "POND_MAX_MEMORY_MB",
  drainTimeoutS: "POND_DRAIN_TIMEOUT_S",
  maxOutputBytes: "POND_MAX_OUTPUT_BYTES",
  logLevel: "POND_LOG_LEVEL",
  outputRetentionS: "POND_OUTPUT_RETENTION_S",
  p2pConnectTimeoutMs: "POND_P2P_CONNECT_TIMEOUT_MS",
  inputWaitS: "POND_INPUT_WAIT_S",
  webrtcBindAddress: "POND_WEBRTC_BIND_ADDRESS",
  inputCacheMb: "POND_INPUT_CACHE_MB",
  prepull: "POND_PREPULL",
  egress: "POND_EGRESS",
  egressDeny: "POND_EGRESS_DENY",
  egressBudgetMb: "POND_EGRESS_BUDGET_MB",
  egressMaxConnections: "POND_EGRESS_MAX_CONNECTIONS",
  egressRateMb: "POND_EGRESS_RATE_MB",
  egressAllowAddresses: "POND_EGRESS_ALLOW_ADDRESSES",
  egressResolve: "POND_EGRESS_RESOLVE",
  registryAllowAddresses: "POND_REGISTRY_ALLOW_ADDRESSES",
};

function defaults(dataDir: string): Omit<ProviderConfig, "api"> {
  return {
    dataDir,
    keyFile: join(dataDir, "provider.key"),
    // 0.0001 ETH per GPU-hour and a tenth of that per CPU-hour, as a starting point.
    gpuSecondWei: "27777777777",
    cpuSecondWei: "2777777777",
    pull: "missing",
    nvidiaSmi: "nvidia-smi",
    drainTimeoutS: 600,
    maxOutputBytes: 1024 * 1024 * 1024,
    logLevel: "info",
    outputRetentionS: 3600,
    p2pConnectTimeoutMs: 5_000,
    inputWaitS: 600,
    prepull: [],
    egress: false,
    egressDeny: [],
    egressBudgetMb: 10_240,
    egressMaxConnections: 32,
    egressAllowAddresses: [],
    egressResolve: [],
    registryAllowAddresses: [],
  };
}

async function readConfigFile(path: string | undefined): Promise<Record<string, unknown>> {
  if (!path) return {};
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  try {
    return z.record(z.string(), z.unknown()).parse(JSON.parse(text));
  } catch {
    throw new ConfigError(`the config file ${path} is not a JSON object`);
  }
}

export async function loadConfig(
  flags: Partial<Record<keyof ProviderConfig, unknown>> & { config?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProviderConfig> {
  const file = await readConfigFile(flags.config ?? env.POND_CONFIG);
  const fromEnv = Object.fromEntries(
    Object.entries(envNames)
      .map(([key, name]) => [key, env[name]] as const)
      .filter(([, value]) => value !== undefined),
  );
  const fromFlags = Object.fromEntries(Object.entries(flags).filter(([key, value]) => key !== "config" && value !== undefined));
  const dataDir = String(fromFlags.dataDir ?? fromEnv.dataDir ?? file.dataDir ?? join(homedir(), ".pond", "provider"));
  const merged = { ...defaults(dataDir), ...file, ...fromEnv, ...fromFlags };
  const parsed = ProviderConfig.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path[0] as keyof ProviderConfig | undefined;
      const where = key ? `--${kebab(key)} / ${envNames[key]}` : "config";
      return `  ${where}: ${issue.message}`;
    });
    throw new ConfigError(`the provider configuration is not valid:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
