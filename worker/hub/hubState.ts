// What the hub's plain modules work on: the Durable Object's own state (its
// sockets and storage), its durable records, and the Worker's bindings. The
// class in objects/ProviderHub.ts makes one and hands it to each call.
import type { Config } from "../config/config.ts";
import type { JobContext } from "../jobs/context.ts";
import type { HubStore } from "./hubStore.ts";

export interface HubState {
  ctx: DurableObjectState;
  env: Env;
  store: HubStore;
  config: Config;
  /** A job context for transitions the hub makes (background: links from PUBLIC_URL). */
  jobContext(): JobContext;
}

/** Moves the object's alarm earlier, never later: every timer shares the one alarm. */
export async function alarmNoLaterThan(state: HubState, at: number): Promise<void> {
  const current = await state.ctx.storage.getAlarm();
  if (current === null || current > at) await state.ctx.storage.setAlarm(at);
}
