// A delivery's first attempt is made right after its event, without the queue, when the
// caller can run it in the background (a request's waitUntil, the hub's own life); its
// retries, and every attempt of a caller that cannot, go through the queue. The queue here
// is a recorder standing in for env.WEBHOOKS, so what reaches it can be counted; the
// receiver is real (a Node server started by globalSetup, checking every signature).
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import type { Answer, ReceivedWebhook } from "../../helpers/webhookReceiver.ts";
import { getConfig } from "../../../worker/config/config.ts";
import { createDb } from "../../../worker/db/client.ts";
import { jobs, jobTransitions, webhookDeliveries } from "../../../worker/db/schema.ts";
import type { JobRow } from "../../../worker/jobs/serialize.ts";
import { dispatchJobEvent, type OutboxContext } from "../../../worker/webhooks/outbox.ts";
import { eventually } from "../../helpers/eventually.ts";
import { call, post, signIn, validJob } from "../client.ts";

const receiver = inject("receiverUrl");

interface Sent {
  deliveryId: string;
  delaySeconds?: number;
}

/** Records what would have gone to the webhook queue. */
function recordingQueue(): { queue: Queue; sent: Sent[] } {
  const sent: Sent[] = [];
  const queue = {
    async send(body: { deliveryId: string }, options?: { delaySeconds?: number }) {
      sent.push({ deliveryId: body.deliveryId, ...(options?.delaySeconds !== undefined ? { delaySeconds: options.delaySeconds } : {}) });
    },
    async sendBatch(messages: Iterable<{ body: { deliveryId: string } }>) {
      for (const message of messages) sent.push({ deliveryId: message.body.deliveryId });
    },
  } as unknown as Queue;
  return { queue, sent };
}

/** A job whose own webhook (signed with its account's default secret) takes job.canceled, and an inbox for it that answers `statuses` in turn. */
async function jobWithInbox(statuses: Answer[] = []): Promise<{ row: JobRow; inbox: string }> {
  const { key } = await signIn();
  const { secret } = (await (await call("/v1/webhooks/default/secret", { key })).json()) as { secret: string };
  const inbox = `first-${Math.random().toString(36).slice(2)}`;
  expect((await fetch(`${receiver}/inbox/${inbox}`, { method: "PUT", body: JSON.stringify({ secret, statuses }) })).status).toBe(204);
  const created = (await (await post("/v1/jobs", { ...validJob(), webhook: `${receiver}/hooks/${inbox}`, webhook_events_filter: ["job.canceled"] }, { key })).json()) as Job;
  const row = (await createDb(env.DB).select().from(jobs).where(eq(jobs.id, created.id)))[0]!;
  return { row, inbox };
}

const received = async (inbox: string) => (await (await fetch(`${receiver}/inbox/${inbox}`)).json()) as ReceivedWebhook[];

function outboxContext(queue: Queue, background?: (work: Promise<unknown>) => void, config = getConfig(env)): OutboxContext {
  return { env: { ...env, WEBHOOKS: queue }, db: createDb(env.DB), config, baseUrl: "https://pond.test", ...(background ? { background } : {}) };
}

describe("a webhook's first attempt", () => {
  it("is made at once in the background: delivered and signed, with nothing sent to the queue", async () => {
    const { row, inbox } = await jobWithInbox();
    const { queue, sent } = recordingQueue();
    const background: Promise<unknown>[] = [];
    expect(await dispatchJobEvent(outboxContext(queue, (work) => background.push(work)), row, "job.canceled")).toBe(1);
    expect(background).toHaveLength(1);
    await Promise.all(background);

    const [only] = await received(inbox);
    expect(only?.verified).toBe(true);
    expect(JSON.parse(only!.body)).toMatchObject({ type: "job.canceled", data: { id: row.id } });
    expect(sent).toEqual([]);
    const [delivery] = await createDb(env.DB).select().from(webhookDeliveries).where(eq(webhookDeliveries.jobId, row.id));
    expect(delivery).toMatchObject({ state: "delivered", attempts: 1 });
    expect(only!.id).toBe(delivery!.id);
  });

  it("reaches every endpoint that wants the event and the job's own URL, each with its own id and secret, in one batch", async () => {
    const { key } = await signIn();
    const endpoint = async (events: string[]) => {
      const inbox = `fan-${Math.random().toString(36).slice(2)}`;
      const created = (await (await post("/v1/webhooks", { url: `${receiver}/hooks/${inbox}`, events }, { key })).json()) as { secret: string };
      await fetch(`${receiver}/inbox/${inbox}`, { method: "PUT", body: JSON.stringify({ secret: created.secret }) });
      return inbox;
    };
    const [first, second, other] = [await endpoint(["job.canceled"]), await endpoint(["job.queued", "job.canceled"]), await endpoint(["job.succeeded"])];
    const { secret } = (await (await call("/v1/webhooks/default/secret", { key })).json()) as { secret: string };
    const own = `own-${Math.random().toString(36).slice(2)}`;
    await fetch(`${receiver}/inbox/${own}`, { method: "PUT", body: JSON.stringify({ secret }) });
    const created = (await (await post("/v1/jobs", { ...validJob(), webhook: `${receiver}/hooks/${own}`, webhook_events_filter: ["job.canceled"] }, { key })).json()) as Job;
    const row = (await createDb(env.DB).select().from(jobs).where(eq(jobs.id, created.id)))[0]!;

    const { queue, sent } = recordingQueue();
    const background: Promise<unknown>[] = [];
    expect(await dispatchJobEvent(outboxContext(queue, (work) => background.push(work)), row, "job.canceled")).toBe(3);
    await Promise.all(background);

    const got = await Promise.all([first, second, own].map(async (inbox) => (await received(inbox)).filter((w) => JSON.parse(w.body).type === "job.canceled")));
    expect(got.map((list) => list.length)).toEqual([1, 1, 1]);
    expect(got.every(([only]) => only!.verified)).toBe(true);
    expect(new Set(got.map(([only]) => only!.id)).size).toBe(3);
    expect(await received(other)).toEqual([]);
    expect(sent).toEqual([]);
  });

  it("marks the transition dispatched in the same batch that writes its deliveries", async () => {
    const { row, inbox } = await jobWithInbox();
    const db = createDb(env.DB);
    const [transition] = await db.select().from(jobTransitions).where(eq(jobTransitions.jobId, row.id));
    await db.update(jobTransitions).set({ dispatchedAt: null }).where(eq(jobTransitions.id, transition!.id));
    const { queue } = recordingQueue();
    const background: Promise<unknown>[] = [];
    const before = Date.now();
    await dispatchJobEvent(outboxContext(queue, (work) => background.push(work)), row, "job.canceled", transition!.id);
    await Promise.all(background);

    const [marked] = await db.select().from(jobTransitions).where(eq(jobTransitions.id, transition!.id));
    expect(marked!.dispatchedAt).toBeGreaterThanOrEqual(before);
    expect(await received(inbox)).toHaveLength(1);
  });

  it("hands a delivery that failed to the queue, due after the schedule's first delay", async () => {
    const { row, inbox } = await jobWithInbox([500]);
    const { queue, sent } = recordingQueue();
    const background: Promise<unknown>[] = [];
    await dispatchJobEvent(outboxContext(queue, (work) => background.push(work)), row, "job.canceled");
    await Promise.all(background);

    expect(await received(inbox)).toHaveLength(1);
    const [delivery] = await createDb(env.DB).select().from(webhookDeliveries).where(eq(webhookDeliveries.jobId, row.id));
    expect(delivery).toMatchObject({ state: "retrying", attempts: 1 });
    // WEBHOOK_RETRY_SCHEDULE is "1,1" in the workerd tests.
    expect(sent).toEqual([{ deliveryId: delivery!.id, delaySeconds: 1 }]);
  });

  it("of one creator's endpoint that never answers holds up no other creator's, made from the same place", async () => {
    const hanging = await jobWithInbox(["hang"]);
    const honest = await jobWithInbox();
    const { queue, sent } = recordingQueue();
    const config = getConfig(env);
    // Long enough that the honest webhook arrives well inside it, however busy the machine.
    const timeoutMs = 5_000;
    const background: Promise<unknown>[] = [];
    const context = outboxContext(queue, (work) => background.push(work), { ...config, webhooks: { ...config.webhooks, timeoutMs } });
    await dispatchJobEvent(context, hanging.row, "job.canceled");
    await dispatchJobEvent(context, honest.row, "job.canceled");
    let hangingSettled = false;
    void background[0]!.then(() => (hangingSettled = true));

    await eventually(async () => (await received(honest.inbox)).length === 1, { what: "the honest creator's webhook", timeoutMs });
    expect(hangingSettled).toBe(false);
    await Promise.all(background);
    const [timedOut] = await createDb(env.DB).select().from(webhookDeliveries).where(eq(webhookDeliveries.jobId, hanging.row.id));
    expect(timedOut).toMatchObject({ state: "retrying", attempts: 1 });
    expect(sent).toEqual([{ deliveryId: timedOut!.id, delaySeconds: 1 }]);
  });

  it("is left to the queue by a caller that cannot run work in the background", async () => {
    const { row, inbox } = await jobWithInbox();
    const { queue, sent } = recordingQueue();
    await dispatchJobEvent(outboxContext(queue), row, "job.canceled");

    const [delivery] = await createDb(env.DB).select().from(webhookDeliveries).where(eq(webhookDeliveries.jobId, row.id));
    expect(sent).toEqual([{ deliveryId: delivery!.id }]);
    expect(delivery).toMatchObject({ state: "pending", attempts: 0 });
    expect(await received(inbox)).toEqual([]);
  });
});
