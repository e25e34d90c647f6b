// The relayer's persisted queue, on a real Durable Object's SQLite: what may be
// sent, what is given up with what, and which verdict is kept.
import { env, runInDurableObject } from "cloudflare:test";
import type { Hex } from "viem";
import { describe, expect, it } from "vitest";
import { dependsOn, type Intent } from "../../../worker/chain/intents.ts";
import { RelayerStore } from "../../../worker/chain/relayerStore.ts";

let objects = 0;
/** A fresh relayer object per test, so no test sees another's intents. */
function withStore<R>(work: (store: RelayerStore, sql: SqlStorage) => R | Promise<R>): Promise<R> {
  const stub = env.RELAYER.get(env.RELAYER.idFromName(`relayer-store-test-${++objects}-${crypto.randomUUID()}`));
  return runInDurableObject(stub, (_instance, state) => work(new RelayerStore(state.storage.sql), state.storage.sql));
}

const chainJobId = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const FAR = 4_000_000_000;

const reserve = (n: number): Intent => ({
  kind: "reserve",
  jobId: `job_${n}`,
  chainJobId: chainJobId(n),
  payload: { creator: `0x${"c1".repeat(20)}`, specHash: chainJobId(99), maxPriceWei: "1000", deadline: 1_900_000_000, tolerant: false, signature: `0x${"11".repeat(65)}` },
});
const result = (n: number): Intent => ({ kind: "result", jobId: `job_${n}`, chainJobId: chainJobId(n), payload: { resultHash: chainJobId(5), amountWei: "10", signature: `0x${"22".repeat(65)}` } });
const settle = (n: number): Intent => ({ kind: "settle", jobId: `job_${n}`, chainJobId: chainJobId(n), payload: {} });
const assign = (n: number): Intent => ({ kind: "assign", jobId: `job_${n}`, chainJobId: chainJobId(n), payload: {} });
const resolve = (n: number, hash: number, sig: string): Intent => ({
  kind: "resolve",
  jobId: `job_${n}`,
  chainJobId: chainJobId(n),
  payload: { resultHash: chainJobId(hash), signature: `0x${sig.repeat(65)}` },
});

const judge = (n: number, rerun: number, upheld: boolean, sig: string): Intent => ({
  kind: "judge",
  jobId: `job_${n}`,
  chainJobId: chainJobId(n),
  payload: { rerunHash: chainJobId(rerun), upheld, signature: `0x${sig.repeat(65)}` },
});

const idOf = (sql: SqlStorage, kind: string, n: number) => Number(sql.exec("SELECT id FROM intents WHERE kind = ? AND chain_job_id = ?", kind, chainJobId(n)).one().id);
const rowOf = (sql: SqlStorage, kind: string, n: number) => sql.exec("SELECT state, payload, attempts, error FROM intents WHERE kind = ? AND chain_job_id = ?", kind, chainJobId(n)).one();

describe("behavior: dependencies", () => {
  it("sends nothing whose dependency was never asked for, and does not spin on it", () =>
    withStore((store) => {
      // A result whose reservation was lost on the way: the contract would revert UnknownJob.
      store.add([result(1)], 0);
      expect(store.ready("result", dependsOn.result, FAR, 10)).toEqual([]);
      expect(store.hasWork()).toBe(false);
    }));

  it("sends a result once its reservation is on chain", () =>
    withStore((store, sql) => {
      store.add([reserve(2), result(2)], 0);
      expect(store.ready("result", dependsOn.result, FAR, 10)).toEqual([]);
      expect(store.hasWork()).toBe(true);
      store.settle(idOf(sql, "reserve", 2));
      expect(store.ready("result", dependsOn.result, FAR, 10).map((s) => s.intent.kind)).toEqual(["result"]);
    }));

  it("gives up on what depended on a failed intent, down the chain, and then has no work", () =>
    withStore((store, sql) => {
      store.add([reserve(3), result(3)], 0);
      store.settle(idOf(sql, "reserve", 3));
      store.add([settle(3)], 0);
      // Pretend the reservation was reopened and then failed for good: result and settle are stuck behind it.
      sql.exec("UPDATE intents SET state = 'pending' WHERE kind = 'reserve'");
      const failed = store.fail(idOf(sql, "reserve", 3), "InsufficientEscrow");
      expect(failed.map((s) => [s.intent.kind, s.error])).toEqual([
        ["reserve", "InsufficientEscrow"],
        ["result", "its reserve failed"],
        ["settle", "its result failed"],
      ]);
      expect(store.hasWork()).toBe(false);
    }));

  it("fails at once what is added behind a dependency that already failed, and reports known failures when asked again", () =>
    withStore((store, sql) => {
      store.add([reserve(4)], 0);
      store.fail(idOf(sql, "reserve", 4), "AuthorizationExpired");
      store.add([result(4)], 0);
      expect(rowOf(sql, "result", 4)).toMatchObject({ state: "failed", error: "its reserve failed" });
      const again = store.add([reserve(4)], 0);
      expect(again.map((s) => [s.intent.kind, s.error])).toEqual([["reserve", "AuthorizationExpired"]]);
      expect(store.hasWork()).toBe(false);
    }));

  it("gives up on a batch member after its last attempt, with its dependents", () =>
    withStore((store, sql) => {
      store.add([reserve(5), result(5)], 0);
      const txId = store.recordTx({ kind: "reserve", nonce: 0, hashes: [chainJobId(1)], raw: "0x", data: "0x", gas: 1n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, sentAt: 0 });
      store.markSent([idOf(sql, "reserve", 5)], txId);
      const spent = store.retryAlone(txId, 1, "reverted");
      expect(spent.map((s) => s.intent.kind)).toEqual(["reserve", "result"]);
    }));
});

describe("behavior: a mediator's verdict", () => {
  it("replaces an earlier verdict that is not on chain, failed or pending", () =>
    withStore((store, sql) => {
      store.add([assign(6), resolve(6, 7, "aa")], 0);
      store.fail(idOf(sql, "resolve", 6), "InvalidMediatorSignature");
      store.add([resolve(6, 8, "bb")], 0);
      const row = rowOf(sql, "resolve", 6);
      expect(row).toMatchObject({ state: "pending", attempts: 0, error: null });
      expect(JSON.parse(String(row.payload))).toMatchObject({ resultHash: chainJobId(8) });

      store.add([resolve(6, 9, "cc")], 0);
      expect(JSON.parse(String(rowOf(sql, "resolve", 6).payload))).toMatchObject({ resultHash: chainJobId(9) });
      // Behind its draw like any verdict.
      expect(store.ready("resolve", dependsOn.resolve, FAR, 10)).toEqual([]);
      store.settle(idOf(sql, "assign", 6));
      expect(store.ready("resolve", dependsOn.resolve, FAR, 10).map((s) => (s.intent.payload as { resultHash: Hex }).resultHash)).toEqual([chainJobId(9)]);
    }));

  it("keeps a verdict in flight in flight, and sends the newer one if that transaction comes back", () =>
    withStore((store, sql) => {
      store.add([assign(7), resolve(7, 7, "aa")], 0);
      store.settle(idOf(sql, "assign", 7));
      const txId = store.recordTx({ kind: "resolve", nonce: 1, hashes: [chainJobId(2)], raw: "0x", data: "0x", gas: 1n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, sentAt: 0 });
      store.markSent([idOf(sql, "resolve", 7)], txId);
      store.add([resolve(7, 8, "bb")], 0);
      expect(rowOf(sql, "resolve", 7).state).toBe("sent");
      store.retryAlone(txId, 3, "reverted");
      const [again] = store.ready("resolve", dependsOn.resolve, FAR, 10);
      expect((again!.intent.payload as { resultHash: Hex }).resultHash).toBe(chainJobId(8));
    }));

  it("leaves a verdict that is on chain alone", () =>
    withStore((store, sql) => {
      store.add([resolve(8, 7, "aa")], 0);
      store.settle(idOf(sql, "resolve", 8));
      store.add([resolve(8, 8, "bb")], 0);
      expect(rowOf(sql, "resolve", 8).state).toBe("done");
      expect(JSON.parse(String(rowOf(sql, "resolve", 8).payload))).toMatchObject({ resultHash: chainJobId(7) });
    }));

  it("replaces a tolerant job's earlier verdict (judge) that is not on chain, behind its draw, and keeps one on chain", () =>
    withStore((store, sql) => {
      store.add([assign(10), judge(10, 7, false, "aa")], 0);
      store.fail(idOf(sql, "judge", 10), "InvalidMediatorSignature");
      store.add([judge(10, 8, true, "bb")], 0);
      expect(rowOf(sql, "judge", 10)).toMatchObject({ state: "pending", attempts: 0, error: null });
      expect(store.ready("judge", dependsOn.judge, FAR, 10)).toEqual([]);
      store.settle(idOf(sql, "assign", 10));
      const [ready] = store.ready("judge", dependsOn.judge, FAR, 10);
      expect(ready!.intent.payload).toEqual({ rerunHash: chainJobId(8), upheld: true, signature: `0x${"bb".repeat(65)}` });
      store.settle(ready!.id);
      store.add([judge(10, 9, false, "cc")], 0);
      expect(JSON.parse(String(rowOf(sql, "judge", 10).payload))).toMatchObject({ rerunHash: chainJobId(8), upheld: true });
    }));

  it("reads a reservation stored before the tolerant flag existed as exact", () =>
    withStore((store, sql) => {
      const { tolerant: _tolerant, ...older } = (reserve(11) as Extract<Intent, { kind: "reserve" }>).payload;
      sql.exec("INSERT INTO intents (kind, job_id, chain_job_id, payload, created_at) VALUES ('reserve', 'job_11', ?, ?, 0)", chainJobId(11), JSON.stringify(older));
      expect(store.ready("reserve", undefined, FAR, 10).map((s) => s.intent.payload)).toEqual([{ ...older, tolerant: false }]);
    }));

  it("keeps the first of any other kind", () =>
    withStore((store, sql) => {
      store.add([{ ...settle(9), notBefore: 5 }], 0);
      store.add([{ ...settle(9), notBefore: 6 }], 0);
      expect(Number(sql.exec("SELECT not_before FROM intents WHERE kind = 'settle'").one().not_before)).toBe(5);
    }));
});
