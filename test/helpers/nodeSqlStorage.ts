// The relayer's SQL storage over Node's own SQLite (node:sqlite), the engine a
// Durable Object's storage runs, so the relayer's queue (worker/chain/relayerStore.ts)
// can run in a Node test beside a real anvil, which workerd tests cannot reach.
import { DatabaseSync } from "node:sqlite";
import type { RelayerSql } from "../../worker/chain/relayerStore.ts";

export function nodeSqlStorage(path = ":memory:"): RelayerSql & { close(): void } {
  const db = new DatabaseSync(path);
  return {
    // all() runs statements that return no rows too (and returns none).
    exec: (query, ...bindings) => {
      const rows = db.prepare(query).all(...(bindings as never[])) as ReturnType<ReturnType<RelayerSql["exec"]>["toArray"]>;
      return {
        toArray: () => rows,
        one: () => {
          if (rows.length !== 1) throw new Error(`expected exactly one row, got ${rows.length}`);
          return rows[0]!;
        },
      };
    },
    close: () => db.close(),
  };
}
