// Tells every listener of a transition (wiring/jobContext.ts lists them). A
// failure here never undoes the transition: its job_transitions row stays
// undispatched and the sweeper sends its webhooks later.
import type { JobContext, Transition } from "./context.ts";

export function announceTransition(ctx: JobContext, transition: Transition): Promise<void> {
  const work = tellListeners(ctx, transition);
  if (!ctx.defer) return work;
  ctx.defer(work);
  return Promise.resolve();
}

async function tellListeners(ctx: JobContext, transition: Transition): Promise<void> {
  const results = await Promise.allSettled(ctx.listeners.map((listener) => listener(ctx, transition)));
  for (const result of results) {
    if (result.status === "rejected") console.error(`announcing ${transition.row.id} → ${transition.row.status} failed:`, result.reason);
  }
}

/**
 * The context with its announcements held: they start at once, but a transition returns without waiting
 * for them, so the caller can answer first (a provider hears "start" or its result's ack sooner), then
 * wait for them with `settled`, within the same event.
 */
export function announcingBeside(ctx: JobContext): { ctx: JobContext; settled(): Promise<void> } {
  const pending: Array<Promise<unknown>> = [];
  return {
    ctx: { ...ctx, defer: (work) => void pending.push(work) },
    settled: async () => {
      await Promise.all(pending);
    },
  };
}
