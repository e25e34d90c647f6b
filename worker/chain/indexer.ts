// Reads the market contract's events into D1, up to a confirmed block, in
// chunks. Events are keyed by (tx hash, log index), so reading a range again
// is harmless; block hashes are kept, so a reorg is noticed and rewound.
// Balances, stakes and job settlement are then read from the contract itself
// at the indexed block: events say what changed, the contract says what is.
// What an event asks for (a webhook, relayer work, a mediator's call) is done
// from the rows not yet marked processed, and marked only once it succeeded:
// a tick that fails half way is picked up by the next one.
import { and, asc, desc, eq, gt, inArray, isNull, lte, or } from "drizzle-orm";
import { parseEventLogs, type Address, type Hex } from "viem";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import type { Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import { inPieces } from "../db/listParameters.ts";
import { chainAccounts, chainBlocks, chainCursor, chainEvents, chainProviders, jobs } from "../db/schema.ts";
import type { ChainPublicClient } from "./clients.ts";
import { emptyTouched, jobIdOf, settlementEvents, touch, type Touched } from "./eventKeys.ts";
import type { Intent } from "./intents.ts";
import { settlementFor } from "./onChainStatus.ts";

const CURSOR_ID = "market";
/** Blocks per getLogs call. */
export const CHUNK_BLOCKS = 2_000n;
/** How many recent block hashes are kept for finding a common ancestor after a reorg. */
const KEPT_BLOCKS = 512;
/** Unprocessed events handled per tick; more make the tick report itself behind. */
export const MAX_UNPROCESSED = 500;

export interface IndexerDeps {
  db: Db;
  client: ChainPublicClient;
  config: Config;
  market: Address;
  /** Settlement changes, announced by webhook when `announce`. */
  onSettlement(chainJobId: string, settlement: NonNullable<ReturnType<typeof settlementFor>>, announce: boolean): Promise<void>;
  /** Work for the relayer (settlements once a challenge window closes, mediator draws, voids). */
  onIntents(intents: Intent[]): Promise<void>;
  /** A mediator was drawn for a challenged job: it should re-run the job. */
  onMediatorAssigned(jobId: string, chainJobId: Hex, mediator: string): Promise<void>;
  /** The seed block was out of reach: the draw must be asked for again. */
  onReseeded(chainJobId: Hex): Promise<void>;
}

export interface IndexResult {
  from: bigint;
  to: bigint;
  target: bigint;
  /** Events seen for the first time. */
  events: number;
  /** Whether more unprocessed events wait than one tick handles. */
  backlog: boolean;
  /** Follow-ups that failed; their events stay unprocessed and are tried again next tick. */
  failures: string[];
  rewoundTo?: bigint;
}

/** An indexed event as stored (args as JSON). */
type EventRow = typeof chainEvents.$inferSelect;

/** Jsonable event args (bigints as strings). */
function plain(args: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(args ?? {}, (_key, value) => (typeof value === "bigint" ? value.toString() : value))) as Record<string, unknown>;
}

async function confirmedTarget(deps: IndexerDeps): Promise<bigint> {
  if (deps.config.chain.name !== "anvil") return (await deps.client.getBlock({ blockTag: "finalized" })).number;
  const head = await deps.client.getBlockNumber({ cacheTime: 0 });
  const depth = BigInt(deps.config.chain.confirmations);
  return head > depth ? head - depth : 0n;
}

/** Finds where our record and the chain agree again, deletes what came after, and says what it touched. */
async function rewind(deps: IndexerDeps, touched: Touched): Promise<bigint> {
  const { db, client } = deps;
  const known = await db.select().from(chainBlocks).orderBy(desc(chainBlocks.number)).limit(KEPT_BLOCKS);
  let ancestor = deps.config.chain.startBlock - 1n;
  for (const block of known) {
    const onChain = await client.getBlock({ blockNumber: BigInt(block.number) }).catch(() => undefined);
    if (onChain?.hash === block.hash) {
      ancestor = BigInt(block.number);
      break;
    }
  }
  const orphaned = await db.select().from(chainEvents).where(gt(chainEvents.blockNumber, Number(ancestor)));
  for (const event of orphaned) touch({ name: event.name, args: event.args as Record<string, unknown> }, touched);
  const ancestorHash = known.find((b) => BigInt(b.number) === ancestor)?.hash ?? "0x";
  await db.batch([
    db.delete(chainEvents).where(gt(chainEvents.blockNumber, Number(ancestor))),
    db.delete(chainBlocks).where(gt(chainBlocks.number, Number(ancestor))),
    db
      .insert(chainCursor)
      .values({ id: CURSOR_ID, blockNumber: Number(ancestor), blockHash: ancestorHash, updatedAt: Date.now() })
      .onConflictDoUpdate({ target: chainCursor.id, set: { blockNumber: Number(ancestor), blockHash: ancestorHash, updatedAt: Date.now() } }),
  ]);
  return ancestor;
}

export async function indexOnce(deps: IndexerDeps): Promise<IndexResult> {
  const { db, client, market } = deps;
  const touched = emptyTouched();
  const cursor = (await db.select().from(chainCursor).where(eq(chainCursor.id, CURSOR_ID)))[0];
  let last = cursor ? BigInt(cursor.blockNumber) : deps.config.chain.startBlock - 1n;
  let rewoundTo: bigint | undefined;

  if (cursor && last >= 0n && cursor.blockHash !== "0x") {
    const onChain = await client.getBlock({ blockNumber: last }).catch(() => undefined);
    if (onChain?.hash !== cursor.blockHash) last = rewoundTo = await rewind(deps, touched);
  }

  const target = await confirmedTarget(deps);
  const from = last + 1n;
  const to = target < from + CHUNK_BLOCKS - 1n ? target : from + CHUNK_BLOCKS - 1n;
  let fresh = 0;
  if (from <= to) {
    const logs = parseEventLogs({ abi: pondMarketAbi, logs: await client.getLogs({ address: market, fromBlock: from, toBlock: to }) });
    const toHash = (await client.getBlock({ blockNumber: to })).hash;
    const rows = logs.map((log) => ({
      txHash: log.transactionHash,
      logIndex: log.logIndex,
      blockNumber: Number(log.blockNumber),
      blockHash: log.blockHash,
      name: log.eventName,
      args: plain(log.args),
      chainJobId: jobIdOf({ name: log.eventName, args: plain(log.args) }) ?? null,
    }));
    const blocks = new Map<number, string>([[Number(to), toHash], ...rows.map((r) => [r.blockNumber, r.blockHash] as [number, string])]);
    // One statement per event (D1 caps bound parameters per statement); RETURNING names the ones never seen before.
    // New rows are unprocessed: what they ask for is done below, and again on later ticks until it succeeds.
    const statements = [
      ...rows.map((row) => db.insert(chainEvents).values(row).onConflictDoNothing().returning({ txHash: chainEvents.txHash })),
      ...[...blocks].map(([number, hash]) => db.insert(chainBlocks).values({ number, hash }).onConflictDoUpdate({ target: chainBlocks.number, set: { hash } })),
      db.insert(chainCursor).values({ id: CURSOR_ID, blockNumber: Number(to), blockHash: toHash, updatedAt: Date.now() }).onConflictDoUpdate({
        target: chainCursor.id,
        set: { blockNumber: Number(to), blockHash: toHash, updatedAt: Date.now() },
      }),
      db.delete(chainBlocks).where(lte(chainBlocks.number, Number(to) - KEPT_BLOCKS)),
    ];
    const results = (await db.batch(statements as [(typeof statements)[number], ...typeof statements])) as unknown[];
    fresh = results.slice(0, rows.length).reduce<number>((n, r) => n + (r as unknown[]).length, 0);
    for (const row of rows) touch(row, touched);
  }

  const block = to < from ? target : to;
  // Oldest first, and only what the indexed range holds (a rewind deleted what a reorg orphaned).
  const unprocessed = await db
    .select()
    .from(chainEvents)
    .where(and(isNull(chainEvents.processedAt), lte(chainEvents.blockNumber, Number(block))))
    .orderBy(asc(chainEvents.blockNumber), asc(chainEvents.logIndex))
    .limit(MAX_UNPROCESSED);
  for (const event of unprocessed) touch({ name: event.name, args: event.args as Record<string, unknown> }, touched);

  await refresh(deps, touched, block, unprocessed);
  const failures = await followUp(deps, unprocessed);
  return { from, to, target, events: fresh, backlog: unprocessed.length === MAX_UNPROCESSED, failures, ...(rewoundTo !== undefined ? { rewoundTo } : {}) };
}

/**
 * Reads the touched state from the contract at `block` and writes it to D1; a job's
 * settlement is announced when an unprocessed event changed it. A failure here
 * throws before anything is marked processed, so the next tick reads and announces
 * again (webhooks are at least once).
 */
async function refresh(deps: IndexerDeps, touched: Touched, block: bigint, unprocessed: readonly EventRow[]): Promise<void> {
  const { db, client, market } = deps;
  const read = { address: market, abi: pondMarketAbi, blockNumber: block } as const;
  const announced = new Set(unprocessed.filter((e) => settlementEvents.has(e.name) && e.chainJobId !== null).map((e) => e.chainJobId!));

  const settlements: Array<[string, NonNullable<ReturnType<typeof settlementFor>>]> = [];
  for (const chainJobId of touched.jobs) {
    const job = await client.readContract({ ...read, functionName: "jobOf", args: [chainJobId as Hex] });
    touched.accounts.add(job.creator.toLowerCase());
    const settlement = settlementFor(job.status);
    if (settlement) settlements.push([chainJobId, settlement]);
  }

  const writes = [];
  for (const account of touched.accounts) {
    if (/^0x0{40}$/.test(account)) continue;
    const [balance, reserved] = await client.readContract({ ...read, functionName: "accountOf", args: [account as Address] });
    const values = { balanceWei: balance.toString(), reservedWei: reserved.toString(), updatedBlock: Number(block) };
    writes.push(db.insert(chainAccounts).values({ address: account, ...values }).onConflictDoUpdate({ target: chainAccounts.address, set: values }));
  }
  for (const provider of touched.providers) {
    const info = await client.readContract({ ...read, functionName: "providerInfo", args: [provider as Address] });
    const values = {
      stakeWei: info.registered ? info.stake.toString() : "0",
      jobsSettled: info.jobsSettled,
      jobsChallenged: info.jobsChallenged,
      jobsSlashed: info.jobsSlashed,
      unbondingAt: info.unbondReadyAt > 0n ? Number(info.unbondReadyAt) * 1000 : null,
      updatedBlock: Number(block),
    };
    writes.push(db.insert(chainProviders).values({ address: provider, ...values }).onConflictDoUpdate({ target: chainProviders.address, set: values }));
  }
  if (writes.length > 0) await db.batch(writes as [(typeof writes)[number], ...typeof writes]);
  // Balances first: whoever sees a job settled (or gets its webhook) finds the escrow already current.
  for (const [chainJobId, settlement] of settlements) await deps.onSettlement(chainJobId, settlement, announced.has(chainJobId));
}

/** Events that ask for more chain work, or for a mediator to re-run a job. */
const followUpEvents = new Set(["ResultSubmitted", "ChallengeOpened", "MediatorAssigned", "MediatorReseeded"]);

/**
 * Does what each unprocessed event asks for and marks it processed once done.
 * Every step is safe to repeat: the relayer keeps one intent per kind and job,
 * settlement updates write what the contract says. One event's failure does not
 * hold the others back, nor does it fail the tick (a balance check waiting on a
 * sync still gets its answer): it is left unprocessed and returned.
 */
async function followUp(deps: IndexerDeps, unprocessed: readonly EventRow[]): Promise<string[]> {
  if (unprocessed.length === 0) return [];
  const ids = [...new Set(unprocessed.filter((e) => followUpEvents.has(e.name) && e.chainJobId !== null).map((e) => e.chainJobId!))];
  const known: Array<{ id: string; chainJobId: string }> = [];
  for (const piece of inPieces(ids)) {
    known.push(...(await deps.db.select({ id: jobs.id, chainJobId: jobs.chainJobId }).from(jobs).where(inArray(jobs.chainJobId, piece))));
  }
  const apiIdOf = new Map(known.map((j) => [j.chainJobId, j.id]));

  const done: EventRow[] = [];
  const asking: EventRow[] = [];
  const intents: Intent[] = [];
  const failures: string[] = [];
  for (const event of unprocessed) {
    const chainJobId = event.chainJobId as Hex | null;
    const jobId = chainJobId ? apiIdOf.get(chainJobId) : undefined;
    // Not a follow-up event, or not one of our jobs: its state was refreshed above, nothing more to do.
    if (!followUpEvents.has(event.name) || !chainJobId || !jobId) {
      done.push(event);
      continue;
    }
    const base = { jobId, chainJobId, payload: {} };
    const args = event.args as Record<string, unknown>;
    try {
      switch (event.name) {
        case "ResultSubmitted":
          // Its challenge window opens: once it closes, the relayer settles.
          intents.push({ ...base, kind: "settle", notBefore: Number(args.challengeEnd) });
          asking.push(event);
          continue;
        case "ChallengeOpened":
          // Draw the mediator as soon as the seed block exists; void the challenge if nobody answers in time.
          intents.push({ ...base, kind: "assign" }, { ...base, kind: "expire", notBefore: Number(args.respondBy) + 1 });
          asking.push(event);
          continue;
        case "MediatorAssigned":
          await deps.onMediatorAssigned(jobId, chainJobId, String(args.mediator).toLowerCase());
          break;
        case "MediatorReseeded":
          await deps.onReseeded(chainJobId);
          break;
      }
      done.push(event);
    } catch (error) {
      failures.push(`${event.name} for ${jobId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (intents.length > 0) {
    try {
      await deps.onIntents(intents);
      done.push(...asking);
    } catch (error) {
      failures.push(`relayer work for ${asking.length} event(s): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  await markProcessed(deps.db, done);
  return failures;
}

async function markProcessed(db: Db, events: readonly EventRow[]): Promise<void> {
  const now = Date.now();
  // Keyed by (tx hash, log index); a few dozen per statement keeps under D1's bound-parameter cap.
  const statements = [];
  for (let i = 0; i < events.length; i += 40) {
    const chunk = events.slice(i, i + 40);
    statements.push(
      db
        .update(chainEvents)
        .set({ processedAt: now })
        .where(or(...chunk.map((e) => and(eq(chainEvents.txHash, e.txHash), eq(chainEvents.logIndex, e.logIndex))))),
    );
  }
  if (statements.length > 0) await db.batch(statements as [(typeof statements)[number], ...typeof statements]);
}
