// A delivery's first attempt, made right after its event is written rather than through
// the queue: the queue's hop and the consumer's read of what was just written were half of
// a webhook's time on its way out (and a queue's hop is longer on Cloudflare than here).
// Retries go through the queue as before. A first attempt cut short (its request or object
// gone mid-way) leaves its delivery pending and never attempted, and the sweeper sends it again
// once the attempt's timeout and the outbox's grace have passed (outbox.ts).
import { webhookQueue } from "../bindings/queues.ts";
import type { JobContext } from "../jobs/context.ts";
import { followUpAttempt, type NextStep } from "./attemptFollowUp.ts";
import { attemptContextOf, attemptDelivery, type DeliveryRow } from "./deliver.ts";

export interface FirstAttempt {
  delivery: DeliveryRow;
  /** As stored: the endpoint's, or the account default for a job's own URL; undefined when it no longer exists. */
  sealedSecret: string | undefined;
}

/** Each delivery on its own: one slow or failing endpoint holds up none of the others. */
export async function attemptFirst(ctx: Pick<JobContext, "env" | "db" | "config">, attempts: FirstAttempt[]): Promise<void> {
  const attemptCtx = attemptContextOf(ctx.config, ctx.db);
  await Promise.all(
    attempts.map(async ({ delivery, sealedSecret }) => {
      let next: NextStep;
      try {
        const outcome = await attemptDelivery(attemptCtx, delivery, sealedSecret);
        next = await followUpAttempt(ctx.env, ctx.config, ctx.db, delivery, outcome);
      } catch (error) {
        // D1 failed around the attempt, before any retry was scheduled: the queue takes it over now.
        console.error(`the first attempt of webhook delivery ${delivery.id} did not complete:`, error);
        await webhookQueue(ctx.env).send({ deliveryId: delivery.id }).catch(() => undefined);
        return;
      }
      if (next.kind !== "retry") return;
      // Recorded as retrying, due at its time: should this message be lost, the sweeper sends it then.
      await webhookQueue(ctx.env)
        .send({ deliveryId: delivery.id }, { delaySeconds: next.delayS })
        .catch((error: unknown) => console.error(`the retry of webhook delivery ${delivery.id} was not queued; the sweeper will send it:`, error));
    }),
  );
}
