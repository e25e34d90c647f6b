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
