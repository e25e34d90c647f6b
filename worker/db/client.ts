import { drizzle } from "drizzle-orm/d1";

/**
 * Without drizzle's relational `schema`: nothing here uses `db.query`, and building its
 * metadata on every call was 13-15% of the Worker's JavaScript per job in bench:fleet's
 * profile (45 µs a call in Node against 1 µs without). Queries name their tables from ./schema.ts.
 */
export function createDb(d1: D1Database) {
  return drizzle(d1);
}
export type Db = ReturnType<typeof createDb>;
