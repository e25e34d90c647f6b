// When to try a failed webhook delivery again. Pure, so the schedule is unit-tested.

/** Cloudflare Queues delay a message by at most 12 hours. */
export const MAX_QUEUE_DELAY_S = 43_200;

/**
 * Seconds until attempt `attempt + 1`, or undefined once the schedule is spent.
 * Each step is jittered by ±20% so endpoints that failed together do not retry
 * together; a `Retry-After` from the endpoint is honoured when it asks for longer.
 */
export function nextRetryDelayS(
  attempt: number,
  scheduleS: readonly number[],
  retryAfterS: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  const base = scheduleS[attempt - 1];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (0.8 + 0.4 * random()));
  return Math.min(MAX_QUEUE_DELAY_S, Math.max(jittered, retryAfterS ?? 0));
}

/** Parses `Retry-After` (delta-seconds or an HTTP date) into seconds from `now`. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}
