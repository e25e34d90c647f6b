// `npm start`: the whole Pond network on this machine, on its embedded local
// defaults — a local chain (anvil, with PondMarket deployed), the Worker under
// `wrangler dev` (local D1, R2, Queues, Durable Objects; indexing and relaying
// to that chain), and a staked provider daemon on the local Docker engine.
// State lives in .pond/ and survives restarts. Ctrl-C stops it all.
// POND_STATE_DIR, POND_PORT and POND_CHAIN_PORT move the state and the ports
// (a test runs a second network beside a user's).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { createPublicClient, createWalletClient, http, parseEther, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil as anvilChain } from "viem/chains";
import { pondMarketAbi } from "../contracts/generated/pondMarket.ts";
import { loadOrCreateKeyFile } from "../keys/keyFile.ts";
import { spawnProcess, type Spawned } from "../test/helpers/processes.ts";
import { deployPondMarket } from "./deploy.ts";
import { startRegistry } from "./localRegistry.ts";
import { publishMlTemplates, publishShippedTemplates } from "./localTemplates.ts";
import { buildMlImage } from "./mlImage.ts";
import { wranglerVarArgs } from "./wranglerEnvFile.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const state = process.env.POND_STATE_DIR ? resolve(process.env.POND_STATE_DIR) : join(root, ".pond");
const port = Number(process.env.POND_PORT ?? 8787);
const api = `http://127.0.0.1:${port}`;
const chainPort = Number(process.env.POND_CHAIN_PORT ?? 8545);
const rpcUrl = `http://127.0.0.1:${chainPort}`;
const registryPort = Number(process.env.POND_REGISTRY_PORT ?? 5055);
const wranglerEnv = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" };
// anvil's well-known development keys (its default mnemonic): #0 deploys and funds, #1 relays.
const DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const RELAYER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/** Local secrets, made once and kept in .pond/ (git-ignored). */
async function localSecret(name: string, make: () => string): Promise<string> {
  const file = join(state, `${name}.secret`);
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const value = make();
    await writeFile(file, `${value}\n`, { mode: 0o600 });
    return value;
  }
}

const children: Spawned[] = [];
const stopBuilds = new AbortController();
let stopping: Promise<void> | undefined;
/** Newest first; once only, though Ctrl-C may reach this process twice (from the terminal and from npm). */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    stopBuilds.abort();
    for (const child of [...children].reverse()) await child.stop("SIGTERM");
  })();
  return stopping;
}
process.on("SIGINT", () => void stopAll().then(() => process.exit(0)));
process.on("SIGTERM", () => void stopAll().then(() => process.exit(0)));

function pipeOutput(name: string, child: Spawned): void {
  child.child.stdout!.on("data", (data: Buffer) => process.stdout.write(prefix(name, data)));
  child.child.stderr!.on("data", (data: Buffer) => process.stderr.write(prefix(name, data)));
}

/**
 * anvil, keeping its state in .pond/ across restarts, with PondMarket deployed
 * once. A block every second, as a real chain: mediator draws wait for a later block.
 */
async function startChain(): Promise<{ market: Address; startBlock: bigint }> {
  const chain = spawnProcess("node_modules/.bin/anvil", ["--host", "127.0.0.1", "--port", String(chainPort), "--state", join(state, "anvil-state.json"), "--state-interval", "10", "--block-time", "1"], { cwd: root, name: "anvil" });
  children.push(chain);
  await chain.waitFor(/Listening on/, 60_000);
  const client = createPublicClient({ chain: anvilChain, transport: http(rpcUrl) });
  const deploymentFile = join(state, "market.json");
  try {
    const saved = JSON.parse(await readFile(deploymentFile, "utf8")) as { address: Address; blockNumber: string };
    if ((await client.getCode({ address: saved.address })) !== undefined) return { market: saved.address, startBlock: BigInt(saved.blockNumber) };
  } catch {
    // No deployment yet (or the chain state was reset): deploy below.
  }
  const deployment = await deployPondMarket({ network: "anvil", confirmMainnet: false, rpcUrl, deployerKey: DEPLOYER_KEY, relayer: privateKeyToAccount(RELAYER_KEY).address });
  await writeFile(deploymentFile, `${JSON.stringify(deployment, null, 2)}\n`);
  console.log(`pond: deployed PondMarket at ${deployment.address}`);
  return { market: deployment.address, startBlock: BigInt(deployment.blockNumber) };
}

/** Gives the local provider ETH and stakes it in the market, once. */
async function stakeProvider(market: Address, providerDir: string): Promise<void> {
  const { account } = await loadOrCreateKeyFile(join(providerDir, "provider.key"));
  const transport = http(rpcUrl);
  const client = createPublicClient({ chain: anvilChain, transport });
  const info = await client.readContract({ address: market, abi: pondMarketAbi, functionName: "providerInfo", args: [account.address] });
  if (info.registered) return;
  const funder = createWalletClient({ chain: anvilChain, transport, account: privateKeyToAccount(DEPLOYER_KEY) });
  await client.waitForTransactionReceipt({ hash: await funder.sendTransaction({ to: account.address, value: parseEther("10") }) });
  const wallet = createWalletClient({ chain: anvilChain, transport, account });
  await client.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: market, abi: pondMarketAbi, functionName: "register", value: parseEther("1") }) });
  console.log(`pond: staked 1 ETH for provider ${account.address}`);
}

/**
 * The ML templates' image, built beside everything else: the first start debootstraps Debian's
 * PyTorch (minutes), later ones find it built. Never fails the start: the busybox templates work without it.
 */
function startMlImageBuild(): Promise<{ image: string } | { error: string }> {
  const logFile = join(state, "ml-image.log");
  return buildMlImage({ logFile, signal: stopBuilds.signal, onLine: (line) => console.log(line.startsWith("ml image: ") ? `pond: ${line}` : `[ml image] ${line}`) }).then(
    (image) => ({ image }),
    (error: unknown) => ({ error: `${error instanceof Error ? error.message : String(error)}\n(the whole log: ${logFile})` }),
  );
}

async function main(): Promise<void> {
  await mkdir(state, { recursive: true, mode: 0o700 });
  let ml: { image: string } | { error: string } | undefined;
  const mlBuild = startMlImageBuild().then((result) => (ml = result));
  const persist = join(state, "wrangler");
  const secretsKey = await localSecret("secrets-key", () => randomBytes(32).toString("base64"));

  console.log("pond: starting the local chain");
  const { market, startBlock } = await startChain();
  const providerDir = join(state, "provider");
  await stakeProvider(market, providerDir);

  console.log("pond: applying D1 migrations");
  await run("node_modules/.bin/wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], { cwd: root, env: { ...process.env, ...wranglerEnv } });

  const vars: Record<string, string> = {
    SECRETS_KEY: secretsKey,
    PUBLIC_URL: api,
    RPC_URL: rpcUrl,
    MARKET_ADDRESS: market,
    MARKET_START_BLOCK: startBlock.toString(),
    RELAYER_PRIVATE_KEY: RELAYER_KEY,
    CONFIRMATIONS: "0",
  };
  const args = ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist];
  // SECRETS_KEY, RELAYER_PRIVATE_KEY and RPC_URL go in .pond/worker.env (0600), not on the command line `ps` shows.
  args.push(...(await wranglerVarArgs(vars, join(state, "worker.env"))));
  const worker = spawnProcess("node_modules/.bin/wrangler", args, { cwd: root, env: wranglerEnv, name: "wrangler dev" });
  children.push(worker);
  pipeOutput("worker", worker);
  await worker.waitFor(/Ready on http/, 120_000);

  // Node with tsx's loader, not the tsx wrapper: the wrapper SIGKILLs its child when the child
  // does not acknowledge a signal within ~60 ms (easily missed on a busy machine), skipping the drain.
  // The templates' images come from the registry on loopback, which a provider pulls from only when told.
  const provider = spawnProcess(process.execPath, ["--import", "tsx", "provider/main.ts", "--api", api, "--data-dir", providerDir, "--registry-allow-addresses", "127.0.0.1"], { cwd: root, name: "provider" });
  children.push(provider);
  pipeOutput("provider", provider);
  await provider.waitFor(/connected to the hub/, 90_000);

  console.log("pond: publishing the shipped templates (their image from a local registry, pinned by digest)");
  const registry = await startRegistry({ dir: join(state, "registry"), port: registryPort });
  children.push(registry.process);
  const templates = await publishShippedTemplates({ api, registry, stateDir: state });
  const publishMl = async (): Promise<string[] | string> => {
    const result = (ml ?? (await mlBuild))!;
    if ("error" in result) return result.error;
    console.log("pond: publishing the ML templates (the PyTorch image pushed to the local registry, pinned by digest)");
    return publishMlTemplates({ api, registry, stateDir: state, localImage: result.image }).catch((error: unknown) => `publishing them failed: ${error instanceof Error ? error.message : String(error)}`);
  };
  // Built already (every start after the first): published before the banner, which then shows them.
  const mlTemplates = ml ? await publishMl() : undefined;

  console.log(`
Pond is running locally.
  dashboard  ${api}/
  API        ${api}
  API docs   ${api}/docs   (OpenAPI: ${api}/openapi.json)
  chain      ${rpcUrl} (anvil), PondMarket at ${market}
  provider   one daemon on the local Docker engine, staked

Get an API key (signs in with a local wallet, Sign-In with Ethereum), fund it, and pay into escrow:
  npm run pond -- login --api ${api}
  npm run pond -- faucet --rpc-url ${rpcUrl}      # local chain only
  npm run pond -- deposit 1 --rpc-url ${rpcUrl}
Run a template (${templates.join(", ")}):
  npm run pond -- templates list
  npm run pond -- run pond/echo@1.0.0 -p message="hello from Pond" -p times=3 --output ${join(state, "outputs")}
  npm run pond -- run pond/countdown -p seconds=5
${mlBanner(mlTemplates)}
Or any image:
  npm run pond -- run --image pond-test/busybox:2 -- sh -c 'echo hello from Pond > /outputs/hello.txt; cat /outputs/hello.txt'

Ctrl-C stops everything.`);
  if (mlTemplates === undefined) {
    const later = await publishMl();
    if (!stopBuilds.signal.aborted) console.log(typeof later === "string" ? mlMissing(later) : `\npond: the ML templates are ready (${later.join(", ")}):\n${ML_EXAMPLES}`);
  }
}

/** Outputs go under the state folder, as the echo example's do, so the demo leaves nothing in the checkout. */
const digits = join(state, "digits");
const ML_EXAMPLES = `  npm run pond -- run pond/digits-train@1.1.0 -p epochs=30 --output ${digits}        # a model and its accuracy: model.pt, metrics.json
  npm run pond -- run pond/digits-eval@1.0.0 --input ${join(digits, "model.pt")} --output ${join(digits, "eval")}
  npm run pond -- run pond/digits-predict@1.0.0 --input ${join(digits, "model.pt")} --input templates/ml/examples/digits-sample.csv --output ${join(digits, "predict")}
  npm run pond -- run pond/digits-train@1.1.0 -p epochs=30 --grid lr=0.001,0.01,0.1 --metric accuracy        # a sweep: a job per value, ranked`;

function mlMissing(why: string): string {
  return `\npond: the ML templates (pond/digits-train, -eval, -predict) are missing: their PyTorch image could not be built. The others work.
${why}
Fix what it says and run npm start again to retry.`;
}

/** The banner's ML lines: the templates when published, else that they are on the way or why they are missing. */
function mlBanner(templates: string[] | string | undefined): string {
  if (templates === undefined) return "Train a PyTorch model (pond/digits-train, -eval, -predict): their image is still being built (first start only: a few minutes, progress above); this says when they are ready.";
  if (typeof templates === "string") return mlMissing(templates).trim();
  return `Train a PyTorch model and use it (${templates.join(", ")}; docs/pytorch.md):\n${ML_EXAMPLES}`;
}

function prefix(name: string, data: Buffer): string {
  return data
    .toString()
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => `[${name}] ${line}\n`)
    .join("");
}

main().catch(async (error: unknown) => {
  console.error(`pond: could not start: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll();
  process.exit(1);
});
