// Whether an event has anyone to go to, decided inside the same SQL batch that
// records the transition: a transition with no listeners is written already
// dispatched, and costs no follow-up work at all.
import { sql, type SQL } from "drizzle-orm";
import type { WebhookEventType } from "../../protocol/webhookEvents.ts";
import { webhookEndpoints } from "../db/schema.ts";

export interface EventAudience {
  /** The owning account, or SQL that yields it inside the same batch. */
  account: string | SQL;
  webhook: string | null;
  webhookEventsFilter: readonly string[];
}

/** SQL for `dispatched_at`: now when nobody listens for `event`, NULL when a delivery is owed. */
export function dispatchedAtSql(event: WebhookEventType | undefined, audience: EventAudience, now: number): SQL {
  if (!event) return sql`${now}`;
  const jobListens = audience.webhook !== null && audience.webhookEventsFilter.includes(event);
  if (jobListens) return sql`NULL`;
  return sql`CASE WHEN EXISTS (
      SELECT 1 FROM ${webhookEndpoints}, json_each(${webhookEndpoints.events}) AS wanted
      WHERE ${webhookEndpoints.account} = ${audience.account} AND ${webhookEndpoints.disabledAt} IS NULL AND wanted.value = ${event}
    ) THEN NULL ELSE ${now} END`;
}
