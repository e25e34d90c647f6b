// The relayer's durable state, in its Durable Object's SQLite: every intent,
// every transaction (with every hash it was sent under), and the next nonce.
// Written before anything is broadcast, so a restart never loses or repeats work.
import { z } from "zod";
import { dependsOn, intentKinds, mediatorAnswerKinds, parsePayload, type Intent, type IntentKind } from "./intents.ts";

export interface StoredIntent {
  id: number;
  intent: Intent;
  attempts: number;
  solo: boolean;
  /** Why it failed, once it has. */
  error: string | null;
}

export interface StoredTx {
  id: number;
  kind: IntentKind;
  nonce: number;
  hashes: `0x${string}`[];
  raw: `0x${string}`;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  gas: bigint;
  data: `0x${string}`;
  sentAt: number;
}

type SqlValue = ArrayBuffer | string | number | null;
/** What the store needs of a Durable Object's SQL storage: SqlStorage is one; Node's SQLite, in a test beside anvil, another. */
export interface RelayerSql {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, SqlValue>[]; one(): Record<string, SqlValue> };
}

const Hashes = z.array(z.string().regex(/^0x[0-9a-f]{64}$/).transform((h) => h as `0x${string}`));

export class RelayerStore {
  constructor(private readonly sql: RelayerSql) {
    sql.exec(`CREATE TABLE IF NOT EXISTS intents (
      id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, job_id TEXT NOT NULL, chain_job_id TEXT NOT NULL,
      payload TEXT NOT NULL, not_before INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'pending',
      tx_id INTEGER, attempts INTEGER NOT NULL DEFAULT 0, solo INTEGER NOT NULL DEFAULT 0, error TEXT,
      created_at INTEGER NOT NULL, UNIQUE(kind, chain_job_id))`);
    sql.exec("CREATE INDEX IF NOT EXISTS intents_state ON intents(state, kind)");
    sql.exec(`CREATE TABLE IF NOT EXISTS txs (
      id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, nonce INTEGER NOT NULL, hashes TEXT NOT NULL,
      raw TEXT NOT NULL, data TEXT NOT NULL, gas TEXT NOT NULL, max_fee TEXT NOT NULL, priority_fee TEXT NOT NULL,
      sent_at INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'sent', block_number INTEGER, gas_used TEXT)`);
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  /**
   * Adds intents; one already known (same kind and job) is left as it is, except
   * a mediator's answer (`resolve`, `judge`): the latest one sent to us replaces any not yet on chain,
   * so an early bogus one cannot stand in for the mediator's. Returns the known
   * intents that had already failed (asked again, their failure is reported again).
   */
  add(intents: readonly Intent[], now: number): StoredIntent[] {
    const alreadyFailed: StoredIntent[] = [];
    for (const intent of intents) {
      const values = [intent.kind, intent.jobId, intent.chainJobId, JSON.stringify(intent.payload), intent.notBefore ?? 0, now] as const;
      if (mediatorAnswerKinds.has(intent.kind)) {
        // In flight ('sent'), the transaction keeps its own calldata: if it is mined, that verdict stood;
        // if it reverts or is dropped, the intent is sent again with this payload.
        this.sql.exec(
          `INSERT INTO intents (kind, job_id, chain_job_id, payload, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(kind, chain_job_id) DO UPDATE SET payload = excluded.payload, not_before = excluded.not_before,
             attempts = 0, solo = 0, error = NULL, state = CASE WHEN intents.state = 'sent' THEN 'sent' ELSE 'pending' END
           WHERE intents.state != 'done'`,
          ...values,
        );
        continue;
      }
      const inserted = this.sql
        .exec("INSERT INTO intents (kind, job_id, chain_job_id, payload, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(kind, chain_job_id) DO NOTHING RETURNING id", ...values)
        .toArray();
      if (inserted.length === 0) {
        const known = this.sql.exec("SELECT * FROM intents WHERE kind = ? AND chain_job_id = ? AND state = 'failed'", intent.kind, intent.chainJobId).toArray();
        alreadyFailed.push(...known.map(toIntent));
      }
    }
    // Whatever was added behind a dependency that already failed will never go either.
    this.failDependents();
    return alreadyFailed;
  }

  /** Pending intents of a kind that may go now: due, and whatever they depend on is on chain. */
  ready(kind: IntentKind, dependency: IntentKind | undefined, chainTime: number, limit: number): StoredIntent[] {
    // The dependency must exist and be done: a missing one (a lost reserve) is not on chain either.
    const satisfied = dependency
      ? `AND EXISTS (SELECT 1 FROM intents d WHERE d.kind = '${dependency}' AND d.chain_job_id = intents.chain_job_id AND d.state = 'done')`
      : "";
    return this.sql
      .exec(`SELECT * FROM intents WHERE state = 'pending' AND kind = ? AND not_before <= ? ${satisfied} ORDER BY solo DESC, id LIMIT ?`, kind, chainTime, limit)
      .toArray()
      .map(toIntent);
  }

  markSent(intentIds: readonly number[], txId: number): void {
    for (const id of intentIds) this.sql.exec("UPDATE intents SET state = 'sent', tx_id = ? WHERE id = ?", txId, id);
  }

  intentsOf(txId: number): StoredIntent[] {
    return this.sql.exec("SELECT * FROM intents WHERE tx_id = ?", txId).toArray().map(toIntent);
  }

  finishTx(txId: number, outcome: "mined" | "reverted", blockNumber: number, gasUsed: bigint): void {
    this.sql.exec("UPDATE txs SET state = ?, block_number = ?, gas_used = ? WHERE id = ?", outcome, blockNumber, gasUsed.toString(), txId);
    if (outcome === "mined") this.sql.exec("UPDATE intents SET state = 'done' WHERE tx_id = ?", txId);
  }

  /**
   * A batch that reverted: each of its intents is tried again on its own, up to `maxAttempts`.
   * Returns what failed for good, with the dependents that failed with it.
   */
  retryAlone(txId: number, maxAttempts: number, error: string): StoredIntent[] {
    this.sql.exec("UPDATE intents SET state = 'pending', tx_id = NULL, solo = 1, attempts = attempts + 1 WHERE tx_id = ?", txId);
    const spent = this.sql.exec("SELECT * FROM intents WHERE state = 'pending' AND attempts >= ?", maxAttempts).toArray().map(toIntent);
    return spent.flatMap((intent) => this.fail(intent.id, error));
  }

  /** Sends a finished intent again (the contract asked for another try, e.g. a re-seeded mediator draw). */
  reopen(kind: IntentKind, chainJobId: string): void {
    this.sql.exec("UPDATE intents SET state = 'pending', tx_id = NULL, attempts = 0 WHERE kind = ? AND chain_job_id = ?", kind, chainJobId);
  }

  /** Done without a transaction: the chain is already where the intent wanted it. */
  settle(intentId: number): void {
    this.sql.exec("UPDATE intents SET state = 'done' WHERE id = ?", intentId);
  }

  /** Gives up on an intent, and on the pending ones that needed it. Returns all of them, failed. */
  fail(intentId: number, error: string): StoredIntent[] {
    const failed = this.sql.exec("UPDATE intents SET state = 'failed', error = ? WHERE id = ? RETURNING *", error, intentId).toArray().map(toIntent);
    return [...failed, ...this.failDependents()];
  }

  /** Fails pending intents whose dependency failed (transitively: a settle behind a result behind a reserve). */
  private failDependents(): StoredIntent[] {
    const failed: StoredIntent[] = [];
    for (;;) {
      const round: StoredIntent[] = [];
      for (const kind of intentKinds) {
        const dependency = dependsOn[kind];
        if (!dependency) continue;
        const rows = this.sql
          .exec(
            `UPDATE intents SET state = 'failed', error = ? WHERE state = 'pending' AND kind = ?
             AND EXISTS (SELECT 1 FROM intents d WHERE d.kind = ? AND d.chain_job_id = intents.chain_job_id AND d.state = 'failed') RETURNING *`,
            `its ${dependency} failed`,
            kind,
            dependency,
          )
          .toArray();
        round.push(...rows.map(toIntent));
      }
      if (round.length === 0) return failed;
      failed.push(...round);
    }
  }

  /** Puts a dropped transaction's intents back to be sent again under a new nonce. */
  requeue(txId: number): void {
    this.sql.exec("UPDATE txs SET state = 'dropped' WHERE id = ?", txId);
    this.sql.exec("UPDATE intents SET state = 'pending', tx_id = NULL WHERE tx_id = ?", txId);
  }

  recordTx(tx: Omit<StoredTx, "id">): number {
    return Number(
      this.sql
        .exec(
          "INSERT INTO txs (kind, nonce, hashes, raw, data, gas, max_fee, priority_fee, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
          tx.kind,
          tx.nonce,
          JSON.stringify(tx.hashes),
          tx.raw,
          tx.data,
          tx.gas.toString(),
          tx.maxFeePerGas.toString(),
          tx.maxPriorityFeePerGas.toString(),
          tx.sentAt,
        )
        .one().id,
    );
  }

  replaced(txId: number, hash: `0x${string}`, raw: `0x${string}`, maxFeePerGas: bigint, maxPriorityFeePerGas: bigint, sentAt: number): void {
    const tx = this.sentTxs().find((t) => t.id === txId);
    if (!tx) return;
    this.sql.exec(
      "UPDATE txs SET hashes = ?, raw = ?, max_fee = ?, priority_fee = ?, sent_at = ? WHERE id = ?",
      JSON.stringify([...tx.hashes, hash]),
      raw,
      maxFeePerGas.toString(),
      maxPriorityFeePerGas.toString(),
      sentAt,
      txId,
    );
  }

  sentTxs(): StoredTx[] {
    return this.sql
      .exec("SELECT * FROM txs WHERE state = 'sent' ORDER BY nonce")
      .toArray()
      .map((row) => ({
        id: Number(row.id),
        kind: String(row.kind) as IntentKind,
        nonce: Number(row.nonce),
        hashes: Hashes.parse(JSON.parse(String(row.hashes))),
        raw: String(row.raw) as `0x${string}`,
        data: String(row.data) as `0x${string}`,
        gas: BigInt(String(row.gas)),
        maxFeePerGas: BigInt(String(row.max_fee)),
        maxPriorityFeePerGas: BigInt(String(row.priority_fee)),
        sentAt: Number(row.sent_at),
      }));
  }

  /**
   * Whether a tick can move anything: a transaction to watch, or a pending intent
   * that is not waiting on a dependency nobody asked for (that one waits for the
   * sweeper to re-derive it, which schedules the relayer again).
   */
  hasWork(): boolean {
    return this.sql.exec(`SELECT 1 FROM intents WHERE state = 'sent' OR (state = 'pending' AND ${dependencyKnown("intents")}) LIMIT 1`).toArray().length > 0;
  }

  nextNonce(): number | undefined {
    const row = this.sql.exec("SELECT value FROM meta WHERE key = 'next_nonce'").toArray()[0];
    return row ? Number(row.value) : undefined;
  }

  setNextNonce(nonce: number): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES ('next_nonce', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", String(nonce));
  }
}

/** SQL: the intent row `alias` has no dependency, or its dependency row exists. Built from `dependsOn`. */
function dependencyKnown(alias: string): string {
  const cases = intentKinds
    .filter((kind) => dependsOn[kind] !== undefined)
    .map((kind) => `WHEN '${kind}' THEN '${dependsOn[kind]}'`)
    .join(" ");
  const dependency = `(CASE ${alias}.kind ${cases} END)`;
  return `(${dependency} IS NULL OR EXISTS (SELECT 1 FROM intents d WHERE d.kind = ${dependency} AND d.chain_job_id = ${alias}.chain_job_id))`;
}

function toIntent(row: Record<string, SqlValue>): StoredIntent {
  const kind = String(row.kind) as IntentKind;
  return {
    id: Number(row.id),
    attempts: Number(row.attempts),
    solo: Number(row.solo) === 1,
    error: row.error === null ? null : String(row.error),
    intent: {
      kind,
      jobId: String(row.job_id),
      chainJobId: String(row.chain_job_id) as `0x${string}`,
      payload: parsePayload(kind, String(row.payload)),
      notBefore: Number(row.not_before),
    } as Intent,
  };
}
