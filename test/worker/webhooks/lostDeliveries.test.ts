// Deliveries whose queue message is gone (a crash between the retry's record and
// its delayed message, or a local queue that lives in memory) are sent again by
// the sweeper; those still waiting for their retry are left alone.
import { env } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { createDb } from "../../../worker/db/client.ts";
import { webhookAttempts, webhookDeliveries } from "../../../worker/db/schema.ts";
import { resendLostWebhooks } from "../../../worker/webhooks/outbox.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
import type { ReceivedWebhook } from "../../helpers/webhookReceiver.ts";
import { eventually } from "../../helpers/eventually.ts";
import { post, signIn } from "../client.ts";

const receiver = inject("receiverUrl");
const db = createDb(env.DB);

/** A signed-in account with an endpoint for job.canceled whose inbox at the receiver checks its signatures; and rows for it. */
async function endpointWithInbox(prefix: string) {
  const { account, key } = await signIn();
  const inbox = `${prefix}-${crypto.randomUUID()}`;
  const created = await post("/v1/webhooks", { url: `${receiver}/hooks/${inbox}`, events: ["job.canceled"] }, { key });
  const endpoint = (await created.json()) as { id: string; secret: string };
  await fetch(`${receiver}/inbox/${inbox}`, { method: "PUT", body: JSON.stringify({ secret: endpoint.secret }) });
  /** A delivery to this endpoint, written at `createdAt`, as the outbox writes one; `columns` say how far it got. */
  const delivery = (id: string, createdAt: number, columns: Partial<typeof webhookDeliveries.$inferInsert>) => ({
    id,
    account: account.address.toLowerCase(),
    endpointId: endpoint.id,
    url: `${receiver}/hooks/${inbox}`,
    eventType: "job.canceled",
    jobId: null,
    payload: JSON.stringify({ type: "job.canceled", timestamp: new Date(createdAt).toISOString(), data: {} }),
    state: "pending" as const,
    attempts: 0,
    createdAt,
    ...columns,
  });
  const received = async () => (await (await fetch(`${receiver}/inbox/${inbox}`)).json()) as ReceivedWebhook[];
  const firstArrival = async (what: string) => (await eventually(async () => {
    const list = await received();
    return list.length > 0 && list;
  }, { what }))[0]!;
  return { delivery, received, firstArrival };
}

describe("behavior: the sweep of lost deliveries", () => {
  it("sends a retry whose message was lost, leaves a retry still due alone, and dead-letters a spent one without trying it", async () => {
    const { delivery, received, firstArrival } = await endpointWithInbox("lost");
    const now = Date.now();
    const longAgo = now - 60 * 60_000;
    const row = (id: string, columns: Partial<typeof webhookDeliveries.$inferInsert>) => delivery(id, longAgo, { state: "retrying", attempts: 1, lastAttemptAt: longAgo, ...columns });
    const suffix = crypto.randomUUID().replaceAll("-", "");
    const lost = `msg_lost${suffix}`;
    const waiting = `msg_waiting${suffix}`;
    // The test schedule is "1,1": three attempts in all, so a third failure was the last.
    const spent = `msg_spent${suffix}`;
    await db.insert(webhookDeliveries).values([
      row(lost, { nextAttemptAt: longAgo + 1_000 }),
      row(waiting, { nextAttemptAt: now + 60 * 60_000 }),
      row(spent, { attempts: 3, nextAttemptAt: null }),
    ]);

    await resendLostWebhooks(jobContextFor(env, { db }), now);

    const arrived = await firstArrival("the lost delivery to arrive");
    expect(arrived.id).toBe(lost);
    expect(arrived.verified).toBe(true);
    const states = await eventually(async () => {
      const rows = await db.select().from(webhookDeliveries).where(inArray(webhookDeliveries.id, [lost, waiting, spent]));
      const byId = Object.fromEntries(rows.map((r) => [r.id, r.state]));
      return byId[lost] === "delivered" && byId[spent] === "dead" && byId;
    }, { what: "the lost one delivered and the spent one dead" });
    expect(states[waiting]).toBe("retrying");
    // The spent delivery was not tried a fourth time on its way to the dead letters.
    expect(await db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, spent))).toEqual([]);
    expect(await received()).toHaveLength(1);

    // Claimed when sent: a sweep right after does not send them again.
    await resendLostWebhooks(jobContextFor(env, { db }), Date.now());
    const attempts = await db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, lost));
    expect(attempts).toHaveLength(1);
  });

  it("sends a delivery whose first attempt was cut short once that attempt's time and the outbox's grace are past, not before", async () => {
    const { delivery, firstArrival } = await endpointWithInbox("cut");
    const { outboxGraceMs, timeoutMs, lostAfterMs } = jobContextFor(env, { db }).config.webhooks;
    const now = Date.now();
    // Pending and never attempted, as a request or object gone mid-attempt leaves it: one written
    // just past the attempt's timeout and the grace (well before the general lost-after time), one within them.
    const row = (id: string, createdAt: number) => delivery(id, createdAt, {});
    const suffix = crypto.randomUUID().replaceAll("-", "");
    const cutShort = `msg_cut${suffix}`;
    const inFlight = `msg_flight${suffix}`;
    expect(outboxGraceMs + timeoutMs + 1_000).toBeLessThan(lostAfterMs);
    await db.insert(webhookDeliveries).values([row(cutShort, now - outboxGraceMs - timeoutMs - 1_000), row(inFlight, now - 1_000)]);

    await resendLostWebhooks(jobContextFor(env, { db }), now);

    const arrived = await firstArrival("the cut-short delivery to arrive");
    expect(arrived.id).toBe(cutShort);
    expect(arrived.verified).toBe(true);
    const [left] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, inFlight));
    expect(left).toMatchObject({ state: "pending", attempts: 0, nextAttemptAt: null });
    expect(await db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, inFlight))).toEqual([]);
  });
});
