// The relayer's durable state, in its Durable Object's SQLite: every intent,
// every transaction (with every hash it was sent under), and the next nonce.
// Written before anything is broadcast, so a restart never loses or repeats work.
import { z } from "zod";
import { parsePayload, type Intent, type IntentKind } from "./intents.ts";

export interface StoredIntent {
  id: number;
  intent: Intent;
  attempts: number;
  solo: boolean;
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

const Hashes = z.array(z.string().regex(/^0x[0-9a-f]{64}$/).transform((h) => h as `0x${string}`));

export class RelayerStore {
  constructor(private readonly sql: SqlStorage) {
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

  /** Adds intents; one already known (same kind and job) is left as it is. Returns how many were new. */
  add(intents: readonly Intent[], now: number): number {
    let added = 0;
    for (const intent of intents) {
      const cursor = this.sql.exec(
        "INSERT INTO intents (kind, job_id, chain_job_id, payload, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(kind, chain_job_id) DO NOTHING",
        intent.kind,
        intent.jobId,
        intent.chainJobId,
        JSON.stringify(intent.payload),
        intent.notBefore ?? 0,
        now,
      );
      added += cursor.rowsWritten;
    }
    return added;
  }

  /** Pending intents of a kind that may go now: due, and whatever they depend on is on chain. */
  ready(kind: IntentKind, dependency: IntentKind | undefined, chainTime: number, limit: number): StoredIntent[] {
    const blocked = dependency
      ? `AND NOT EXISTS (SELECT 1 FROM intents d WHERE d.kind = '${dependency}' AND d.chain_job_id = intents.chain_job_id AND d.state != 'done')`
      : "";
    return this.sql
      .exec(`SELECT * FROM intents WHERE state = 'pending' AND kind = ? AND not_before <= ? ${blocked} ORDER BY solo DESC, id LIMIT ?`, kind, chainTime, limit)
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

  /** A batch that reverted: each of its intents is tried again on its own, up to `maxAttempts`. */
  retryAlone(txId: number, maxAttempts: number, error: string): StoredIntent[] {
    this.sql.exec("UPDATE intents SET state = 'pending', tx_id = NULL, solo = 1, attempts = attempts + 1 WHERE tx_id = ?", txId);
    const spent = this.sql.exec("SELECT * FROM intents WHERE state = 'pending' AND attempts >= ?", maxAttempts).toArray().map(toIntent);
    for (const intent of spent) this.fail(intent.id, error);
    return spent;
  }

  /** Sends a finished intent again (the contract asked for another try, e.g. a re-seeded mediator draw). */
  reopen(kind: IntentKind, chainJobId: string): void {
    this.sql.exec("UPDATE intents SET state = 'pending', tx_id = NULL, attempts = 0 WHERE kind = ? AND chain_job_id = ?", kind, chainJobId);
  }

  /** Done without a transaction: the chain is already where the intent wanted it. */
  settle(intentId: number): void {
    this.sql.exec("UPDATE intents SET state = 'done' WHERE id = ?", intentId);
  }

  fail(intentId: number, error: string): void {
    this.sql.exec("UPDATE intents SET state = 'failed', error = ? WHERE id = ?", error, intentId);
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

  hasWork(): boolean {
    return this.sql.exec("SELECT 1 FROM intents WHERE state IN ('pending', 'sent') LIMIT 1").toArray().length > 0;
  }

  nextNonce(): number | undefined {
    const row = this.sql.exec("SELECT value FROM meta WHERE key = 'next_nonce'").toArray()[0];
    return row ? Number(row.value) : undefined;
  }

  setNextNonce(nonce: number): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES ('next_nonce', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", String(nonce));
  }

  counts(): Record<string, number> {
    const rows = this.sql.exec("SELECT kind || ':' || state AS k, COUNT(*) AS n FROM intents GROUP BY kind, state").toArray();
    return Object.fromEntries(rows.map((r) => [String(r.k), Number(r.n)]));
  }
}

function toIntent(row: Record<string, SqlStorageValue>): StoredIntent {
  const kind = String(row.kind) as IntentKind;
  return {
    id: Number(row.id),
    attempts: Number(row.attempts),
    solo: Number(row.solo) === 1,
    intent: {
      kind,
      jobId: String(row.job_id),
      chainJobId: String(row.chain_job_id) as `0x${string}`,
      payload: parsePayload(kind, String(row.payload)),
      notBefore: Number(row.not_before),
    } as Intent,
  };
}
