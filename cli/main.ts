// `pond`: the command line for job creators, built on the SDK.
//   pond login --api http://127.0.0.1:8787
//   pond run --image busybox -- sh -c 'echo hi > /outputs/hi.txt'
//   pond jobs list | get ID | logs ID | cancel ID | download ID PATH
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { JobSpec, type CreateJobRequest } from "../protocol/jobSpec.ts";
import { createTestClient, formatEther, http, parseEther } from "viem";
import { loadOrCreateKeyFile } from "../keys/keyFile.ts";
import { configDir, creatorWallet, readCliConfig, writeCliConfig } from "./config.ts";
import { reportCliError, UsageError } from "./errors.ts";
import { followLogs } from "./followLogs.ts";
import { sendMarketTx } from "./marketTx.ts";
import { PondClient } from "../sdk/index.ts";

const program = new Command("pond").description("Send GPU jobs to the Pond network").option("--api <url>", "the Pond API (default: from `pond login`)");

async function client(): Promise<PondClient> {
  const config = await readCliConfig();
  const api = program.opts<{ api?: string }>().api ?? config.api;
  if (!api) throw new UsageError("no API to talk to: run `pond login --api <url>` first");
  if (!config.apiKey) throw new UsageError("not logged in: run `pond login --api <url>`");
  return new PondClient({ baseUrl: api, apiKey: config.apiKey });
}

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("not a number");
  return n;
};

program
  .command("login")
  .description("sign in with your wallet (SIWE) and store an API key")
  .action(async () => {
    const api = program.opts<{ api?: string }>().api ?? (await readCliConfig()).api;
    if (!api) throw new UsageError("say which API to log in to: pond login --api <url>");
    const wallet = await creatorWallet();
    const sdk = new PondClient({ baseUrl: api });
    const created = await sdk.signIn(wallet);
    await writeCliConfig({ api, apiKey: created.key });
    console.log(`logged in to ${api} as ${created.address}`);
    console.log(`API key ${created.id} stored in ${configDir()}/cli.json (readable only by you)`);
  });

program
  .command("run")
  .description("create a job and wait for it, printing its logs")
  .requiredOption("--image <ref>", "container image")
  .option("--gpus <n>", "GPUs", integer, 0)
  .option("--vram <mb>", "VRAM per GPU, MiB", integer)
  .option("--cpus <n>", "CPUs", integer, 1)
  .option("--memory <mb>", "memory, MiB", integer, 1024)
  .option("--timeout <s>", "timeout, seconds", integer, 600)
  .option("--max-price <wei>", "the most you will pay, in wei", "1000000000000000")
  .option("--env <KEY=VALUE...>", "environment variables")
  .option("--no-wait", "return once the job is queued")
  .argument("[cmd...]", "command to run")
  .action(async (cmd: string[], options) => {
    const request: CreateJobRequest = {
      image: options.image,
      ...(cmd.length > 0 ? { cmd } : {}),
      ...(options.env ? { env: Object.fromEntries((options.env as string[]).map((pair) => pair.split(/=(.*)/s).slice(0, 2))) } : {}),
      resources: { gpus: options.gpus, cpus: options.cpus, memory_mb: options.memory, ...(options.vram ? { gpu_vram_mb: options.vram } : {}) },
      timeout_s: options.timeout,
      max_price_wei: options.maxPrice,
    };
    const spec = JobSpec.safeParse(request);
    if (!spec.success) throw new UsageError(spec.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n"));
    const sdk = await client();
    const job = await sdk.createPaidJob(request, await creatorWallet());
    console.error(`job ${job.id} queued`);
    if (!options.wait) return console.log(job.id);
    const done = await followLogs(sdk, job.id, {
      write: (text) => process.stdout.write(text),
      onReconnect: () => console.error("\n[pond: the log stream dropped; reconnecting]"),
    });
    console.error(`\njob ${done.id} ${done.status}${done.error ? `: ${done.error}` : ""}`);
    for (const file of done.output?.files ?? []) console.error(`  output ${file.path} (${file.size} bytes, sha256 ${file.sha256})`);
    process.exitCode = done.status === "succeeded" ? 0 : 1;
  });

program
  .command("deposit")
  .description("put ETH into your escrow in the market contract")
  .argument("<eth>", "amount, in ETH")
  .option("--rpc-url <url>", "the chain's JSON-RPC endpoint", "http://127.0.0.1:8545")
  .action(async (eth: string, options: { rpcUrl: string }) => {
    const sdk = await client();
    const hash = await sendMarketTx(options.rpcUrl, await creatorWallet(), await sdk.chain(), { functionName: "deposit", value: parseEther(eth) });
    console.log(`deposited ${eth} ETH (${hash})`);
  });

program
  .command("challenge")
  .description("dispute a job's result within its challenge window (posts the market's bond)")
  .argument("<job-id>")
  .option("--rpc-url <url>", "the chain's JSON-RPC endpoint", "http://127.0.0.1:8545")
  .action(async (id: string, options: { rpcUrl: string }) => {
    const sdk = await client();
    const job = await sdk.getJob(id);
    if (!job.output || !job.price.claim_signature) throw new UsageError(`job ${id} has no signed result to challenge (it is ${job.status})`);
    const hash = await sendMarketTx(options.rpcUrl, await creatorWallet(), await sdk.chain(), {
      functionName: "challenge",
      jobId: job.chain_job_id as `0x${string}`,
      resultHash: job.output.result_hash as `0x${string}`,
      providerSignature: job.price.claim_signature as `0x${string}`,
    });
    console.log(`challenged ${id} (${hash}); a mediator will re-run it`);
  });

program
  .command("faucet")
  .description("local chains only: give your wallet 100 test ETH")
  .option("--rpc-url <url>", "the local chain's JSON-RPC endpoint", "http://127.0.0.1:8545")
  .action(async (options: { rpcUrl: string }) => {
    const wallet = await creatorWallet();
    const client = createTestClient({ mode: "anvil", transport: http(options.rpcUrl) });
    await client.setBalance({ address: wallet.address, value: parseEther("100") }).catch(() => {
      throw new UsageError(`${options.rpcUrl} is not a local development chain (anvil): fund ${wallet.address} another way`);
    });
    console.log(`${wallet.address} now holds 100 ETH on ${options.rpcUrl}`);
  });

program
  .command("balance")
  .description("your escrow as Pond has indexed it")
  .action(async () => {
    const { escrow } = await (await client()).account();
    console.log(`balance ${formatEther(BigInt(escrow.balance_wei))} ETH, reserved ${formatEther(BigInt(escrow.reserved_wei))}, free ${formatEther(BigInt(escrow.available_wei))}`);
  });

const jobs = program.command("jobs").description("look at and manage your jobs");
jobs.command("list").option("--status <status>").option("--limit <n>", "how many", integer, 20).action(async (options) => {
  const page = await (await client()).listJobs({ status: options.status, limit: options.limit });
  for (const job of page.results) console.log(`${job.id}  ${job.status.padEnd(10)}  ${job.created_at}  ${job.spec.image}`);
});
jobs.command("get").argument("<id>").action(async (id: string) => console.log(JSON.stringify(await (await client()).getJob(id), null, 2)));
jobs.command("cancel").argument("<id>").action(async (id: string) => console.log((await (await client()).cancelJob(id)).status));
jobs.command("logs").argument("<id>").action(async (id: string) => {
  await followLogs(await client(), id, { write: (text) => process.stdout.write(text) });
});
jobs
  .command("download")
  .argument("<id>")
  .argument("<path>", "output path, as in the manifest")
  .option("-o, --out <file>", "where to write it (default: stdout)")
  .action(async (id: string, path: string, options: { out?: string }) => {
    const bytes = await (await client()).downloadOutput(id, path);
    if (options.out) await writeFile(options.out, bytes);
    else process.stdout.write(bytes);
  });

const provider = program.command("provider").description("run a provider daemon on this machine");

provider
  .command("register")
  .description("stake ETH in the market contract with the provider's key, so it can be paid")
  .requiredOption("--stake-eth <eth>", "how much to stake")
  .option("--key-file <file>", "the provider's key", join(configDir(), "provider", "provider.key"))
  .option("--rpc-url <url>", "the chain's JSON-RPC endpoint", "http://127.0.0.1:8545")
  .action(async (options: { stakeEth: string; keyFile: string; rpcUrl: string }) => {
    const api = program.opts<{ api?: string }>().api ?? (await readCliConfig()).api;
    if (!api) throw new UsageError("say which API the provider serves: pond --api <url> provider register …");
    const { account } = await loadOrCreateKeyFile(options.keyFile);
    const hash = await sendMarketTx(options.rpcUrl, account, await new PondClient({ baseUrl: api }).chain(), { functionName: "register", value: parseEther(options.stakeEth) });
    console.log(`provider ${account.address} registered with ${options.stakeEth} ETH stake (${hash})`);
  });

provider
  .command("start")
  .description("start the provider daemon (all flags as for `npm run provider`)")
  .allowUnknownOption()
  .helpOption(false)
  .argument("[flags...]")
  .action(async (flags: string[]) => {
    const api = program.opts<{ api?: string }>().api;
    const daemon = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "..", "provider", "main.ts"), ...(api ? ["--api", api] : []), ...flags], { stdio: "inherit" });
    // Ctrl-C reaches the daemon from the terminal itself (same process group):
    // forwarding it too would be a second signal, which cancels every job. So
    // SIGINT only keeps this process waiting for the daemon's drain; SIGTERM,
    // sent to this process alone, is passed on.
    process.on("SIGINT", () => undefined);
    process.on("SIGTERM", () => daemon.kill("SIGTERM"));
    process.exitCode = await new Promise<number>((resolve) => daemon.on("exit", (code) => resolve(code ?? 1)));
  });

program.parseAsync().catch((error: unknown) => {
  reportCliError(error, Boolean(process.env.POND_DEBUG));
  process.exitCode = 1;
});
