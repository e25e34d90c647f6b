// Exact sums of wei kept as decimal text. SQLite's integers are 64-bit, and
// SUM() of wei overflows past about 9.2 ETH, so each value is split at 10^9:
// the high parts (whole gwei) and low parts sum without overflow, each returned
// as text so no digit is lost on the way to JavaScript, and BigInt joins them.
import { sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

const GWEI = 10n ** 9n;

export function weiSumParts(column: SQLiteColumn): { high: SQL<string | null>; low: SQL<string | null> } {
  return {
    high: sql<string | null>`cast(sum(cast(substr(${column}, 1, max(length(${column}) - 9, 0)) as integer)) as text)`,
    low: sql<string | null>`cast(sum(cast(substr(${column}, max(length(${column}) - 8, 1)) as integer)) as text)`,
  };
}

/** Joins the two partial sums; nulls (no rows) count as zero. */
export function joinWeiSum(parts: { high: string | null; low: string | null } | undefined): bigint {
  return BigInt(parts?.high ?? "0") * GWEI + BigInt(parts?.low ?? "0");
}
