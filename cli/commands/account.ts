// Signing in, API keys, and the creator's escrow: `pond login`, `pond keys …`,
// `pond balance`, `pond deposit`, `pond withdraw`, `pond faucet`, `pond challenge`.
import type { Command } from "commander";
import { createTestClient, formatEther, http, parseEther } from "viem";
import { PondClient } from "../../sdk/index.ts";
import { configDir, readCliConfig, writeCliConfig } from "../config.ts";
import { repeated, type CliContext } from "../context.ts";
import { inputsForChallenge, serveInputsUntilResolved } from "../dataplane/challengeInputs.ts";
import { UsageError } from "../errors.ts";
import { sendMarketTx } from "../marketTx.ts";
import { table } from "../output.ts";

const DEFAULT_RPC = "http://127.0.0.1:8545";

/** An amount of ETH from the command line, or a message saying what is wrong with it. */
export function ethAmount(text: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(text)) throw new UsageError(`"${text}" is not an amount of ETH, e.g. 0.5`);
  const wei = parseEther(text);
  if (wei === 0n) throw new UsageError("the amount must be more than 0");
  return wei;
}

export function registerAccount(program: Command, ctx: () => CliContext): void {
  program
    .command("login")
    .description("sign in with your wallet (SIWE) and store an API key")
    .action(async () => {
      const c = ctx();
      const api = await c.api();
      const created = await new PondClient({ baseUrl: api }).signIn(await c.wallet());
      await writeCliConfig({ ...(await readCliConfig()), api, apiKey: created.key });
      c.output.result({ api, address: created.address, key_id: created.id }, () => [
        `logged in to ${api} as ${created.address}`,
        `API key ${created.id} stored in ${configDir()}/cli.json (readable only by you)`,
      ]);
    });

  const keys = program.command("keys").description("your API keys");
  keys
    .command("list")
    .description("your API keys (never their secrets)")
    .action(async () => {
      const c = ctx();
      const { results } = await (await c.client()).listKeys();
      c.output.result(results, (rows) => table(rows.map((k) => [k.id, `${k.prefix}…`, `created ${k.created_at}`, k.last_used_at ? `last used ${k.last_used_at}` : "never used"])));
    });
  keys
    .command("revoke")
    .argument("<id>", "the key's id (pond keys list)")
    .description("revoke an API key at once")
    .action(async (id: string) => {
      const c = ctx();
      await (await c.client()).revokeKey(id);
      c.output.result({ revoked: id }, () => `revoked ${id}`);
    });

  program
    .command("balance")
    .description("your escrow as Pond has indexed it")
    .action(async () => {
      const c = ctx();
      const account = await (await c.client()).account();
      const { escrow } = account;
      const eth = (wei: string) => formatEther(BigInt(wei));
      c.output.result(account, () => `balance ${eth(escrow.balance_wei)} ETH, reserved ${eth(escrow.reserved_wei)}, being reserved ${eth(escrow.reserving_wei)}, free ${eth(escrow.available_wei)}`);
    });

  for (const [name, description] of [
    ["deposit", "put ETH into your escrow in the market contract"],
    ["withdraw", "take ETH out of your escrow (what jobs have not reserved)"],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument("<eth>", "amount, in ETH")
      .option("--rpc-url <url>", "the chain's JSON-RPC endpoint", DEFAULT_RPC)
      .action(async (eth: string, options: { rpcUrl: string }) => {
        const c = ctx();
        const amount = ethAmount(eth);
        const chain = await (await c.anonymous()).chain();
        const write = name === "deposit" ? { functionName: "deposit" as const, value: amount } : { functionName: "withdraw" as const, amount };
        const hash = await sendMarketTx(options.rpcUrl, await c.wallet(), chain, write);
        c.output.result({ [name === "deposit" ? "deposited_wei" : "withdrawn_wei"]: amount.toString(), transaction: hash }, () => `${name === "deposit" ? "deposited" : "withdrew"} ${eth} ETH (${hash})`);
      });
  }

  program
    .command("faucet")
    .description("local chains only: give your wallet 100 test ETH")
    .option("--rpc-url <url>", "the local chain's JSON-RPC endpoint", DEFAULT_RPC)
    .action(async (options: { rpcUrl: string }) => {
      const c = ctx();
      const wallet = await c.wallet();
      const client = createTestClient({ mode: "anvil", transport: http(options.rpcUrl) });
      await client.setBalance({ address: wallet.address, value: parseEther("100") }).catch(() => {
        throw new UsageError(`${options.rpcUrl} is not a local development chain (anvil): fund ${wallet.address} another way`);
      });
      c.output.result({ address: wallet.address, balance_wei: parseEther("100").toString() }, () => `${wallet.address} now holds 100 ETH on ${options.rpcUrl}`);
    });

  program
    .command("challenge")
    .description("dispute a job's result within its challenge window (posts the market's bond)")
    .argument("<job-id>")
    .option("--rpc-url <url>", "the chain's JSON-RPC endpoint", DEFAULT_RPC)
    .option("--input <path>", "the job's input files, as `pond run` sent them: served to the mediator until the challenge is resolved, should the provider not (repeatable)", repeated)
    .action(async (id: string, options: { rpcUrl: string; input?: string[] }) => {
      const c = ctx();
      const sdk = await c.client();
      const job = await sdk.getJob(id);
      if (!job.output || !job.price.claim_signature) throw new UsageError(`job ${id} has no signed result to challenge (it is ${job.status})`);
      const inputs = options.input?.length ? await inputsForChallenge(job, options.input) : undefined;
      const hash = await sendMarketTx(options.rpcUrl, await c.wallet(), await sdk.chain(), {
        functionName: "challenge",
        jobId: job.chain_job_id as `0x${string}`,
        resultHash: job.output.result_hash as `0x${string}`,
        providerSignature: job.price.claim_signature as `0x${string}`,
      });
      const resolved = inputs ? await serveInputsUntilResolved({ sdk, p2p: c.p2p, inputs, jobId: id, progress: c.progress, note: (text) => c.output.note(text) }) : undefined;
      c.output.result({ job: id, transaction: hash, ...(resolved ? { settlement: resolved.settlement } : {}) }, () => `challenged ${id} (${hash}); ${resolved ? `settled as ${resolved.settlement}` : "a mediator will re-run it"}`);
    });
}
