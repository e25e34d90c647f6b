// Reads tests make of a job from outside: as its creator sees it, what R2 holds
// under its outputs, and what its room's log holds.
import { env, runInDurableObject } from "cloudflare:test";
import type { Job } from "../../protocol/job.ts";
import { outputsPrefix } from "../../protocol/uploads.ts";
import { jobRoomOf } from "../../worker/bindings/objects.ts";
import { call } from "./client.ts";

export const jobOf = async (key: string, id: string) => (await (await call(`/v1/jobs/${id}`, { key })).json()) as Job;

export const storedOutputs = async (jobId: string) => (await env.OUTPUTS.list({ prefix: outputsPrefix(jobId) })).objects.map((o) => o.key);

/** How many of the job's room events contain `text` (0 when the room has none yet). */
export async function roomCount(jobId: string, text: string): Promise<number> {
  return runInDurableObject(jobRoomOf(env, jobId), (_room, state) => {
    try {
      return state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM room_events WHERE instr(data, ?) > 0", text).one().n;
    } catch {
      return 0;
    }
  });
}
