// What an attempt needs, in one D1 read: the delivery, whether its endpoint
// still takes deliveries, and the sealed secret it is signed with (its
// endpoint's, or the account default for per-job URLs). Three reads before
// the POST were most of a webhook's time on the way out.
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { accounts, webhookDeliveries, webhookEndpoints } from "../db/schema.ts";
import type { DeliveryRow } from "./deliver.ts";

export interface DeliveryToAttempt {
  delivery: DeliveryRow;
  /** For an endpoint's delivery: the endpoint is gone or disabled, and nothing is sent. */
  endpointClosed: boolean;
  /** Undefined when the secret no longer exists (the attempt then fails, saying so). */
  sealedSecret: string | undefined;
}

export async function deliveryToAttempt(db: Db, deliveryId: string): Promise<DeliveryToAttempt | undefined> {
  const [row] = await db
    .select({
      delivery: webhookDeliveries,
      endpointId: webhookEndpoints.id,
      endpointDisabledAt: webhookEndpoints.disabledAt,
      endpointSecret: webhookEndpoints.secretEnc,
      accountSecret: accounts.webhookSecretEnc,
    })
    .from(webhookDeliveries)
    .leftJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .leftJoin(accounts, sql`${webhookDeliveries.endpointId} IS NULL AND ${accounts.address} = ${webhookDeliveries.account}`)
    .where(eq(webhookDeliveries.id, deliveryId));
  if (!row) return undefined;
  const { delivery } = row;
  if (delivery.endpointId) {
    return { delivery, endpointClosed: row.endpointId === null || row.endpointDisabledAt !== null, sealedSecret: row.endpointSecret ?? undefined };
  }
  return { delivery, endpointClosed: false, sealedSecret: row.accountSecret ?? undefined };
}
