// Opaque keyset cursors over a table's insertion sequence (`seq`), for jobs,
// templates and any list that grows while it is read. Newest first: `next`
// walks to older rows, `previous` back to newer ones. Keyset (not offset)
// paging is what keeps pages free of duplicates and gaps while rows are added.
import { asc, desc, gt, lt, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { z } from "zod";

export type PageDirection = "older" | "newer";
export interface Cursor {
  direction: PageDirection;
  seq: number;
}

const CursorShape = z.object({ d: z.enum(["o", "n"]), s: z.int().nonnegative() });

export function encodeCursor(cursor: Cursor): string {
  const json = JSON.stringify({ d: cursor.direction === "older" ? "o" : "n", s: cursor.seq });
  return btoa(json).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeCursor(value: string): Cursor | undefined {
  try {
    const padded = value.replace(/-/g, "+").replace(/_/g, "/");
    const parsed = CursorShape.safeParse(JSON.parse(atob(padded)));
    if (!parsed.success) return undefined;
    return { direction: parsed.data.d === "o" ? "older" : "newer", seq: parsed.data.s };
  } catch {
    // atob and JSON.parse throw on garbage: that is a bad cursor, reported by the caller.
    return undefined;
  }
}

/** Where a page read by `seq` starts (none on the first page) and its order: toward older rows, or back toward newer ones. */
export function keyset(seq: AnySQLiteColumn, cursor: Cursor | undefined): { from: SQL | undefined; order: SQL } {
  const newer = cursor?.direction === "newer";
  return { from: cursor ? (newer ? gt(seq, cursor.seq) : lt(seq, cursor.seq)) : undefined, order: newer ? asc(seq) : desc(seq) };
}

export interface PageLinks {
  next?: Cursor;
  previous?: Cursor;
}

/**
 * Given rows fetched one past the limit in the cursor's direction, keeps
 * `limit` of them (newest first) and says where the neighbouring pages start.
 */
export function paginate<T extends { seq: number }>(
  fetched: readonly T[],
  limit: number,
  cursor: Cursor | undefined,
): { rows: T[]; links: PageLinks } {
  const hasMore = fetched.length > limit;
  const kept = fetched.slice(0, limit);
  const rows = cursor?.direction === "newer" ? [...kept].reverse() : kept;
  if (rows.length === 0) {
    // An empty page still links back to where the reader came from.
    return { rows, links: cursor ? { [cursor.direction === "older" ? "previous" : "next"]: flip(cursor) } : {} };
  }
  const newest = rows[0]!.seq;
  const oldest = rows[rows.length - 1]!.seq;
  const morePastOldest = cursor?.direction === "newer" ? true : hasMore;
  const morePastNewest = cursor === undefined ? false : cursor.direction === "older" ? true : hasMore;
  return {
    rows,
    links: {
      ...(morePastOldest ? { next: { direction: "older", seq: oldest } } : {}),
      ...(morePastNewest ? { previous: { direction: "newer", seq: newest } } : {}),
    },
  };
}

/** The cursor back to the page that `cursor` was taken from, its boundary row included. */
function flip(cursor: Cursor): Cursor {
  return cursor.direction === "older" ? { direction: "newer", seq: cursor.seq - 1 } : { direction: "older", seq: cursor.seq + 1 };
}
