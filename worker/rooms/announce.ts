// Tells a job's room (its live waiters and log streams) of each status change.
import type { JobStatus } from "../../protocol/jobStatus.ts";
import { jobRoomOf } from "../bindings/objects.ts";
import type { TransitionListener } from "../jobs/context.ts";

export const announceToRoom: TransitionListener = async (ctx, { row, from }) => {
  // A job that was just created has no one in its room yet.
  if (from === null) return;
  await jobRoomOf(ctx.env, row.id).statusChanged(row.status as JobStatus);
};
