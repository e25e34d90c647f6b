// What a provider reports about a job it holds: its phase, its output, its
// result. A succeeded result is checked (resultCheck.ts) before the job may
// succeed; every result is acknowledged, so the daemon can drop it.
import type { Address, Hex } from "viem";
import { HUB_PROTOCOL_VERSION, type ResultMessage } from "../../protocol/hubMessages.ts";
import { isTerminal, type JobStatus } from "../../protocol/jobStatus.ts";
import { jobRoomOf } from "../bindings/objects.ts";
import { gpuFiguresOfJob } from "./gpuFigures.ts";
import { announcingBeside } from "../jobs/announce.ts";
import { marketDomain } from "../config/chains.ts";
import { lostTheRace, setStatusDetail, transitionIfStill, transitionJob, type TransitionPatch } from "../jobs/transitions.ts";
import type { Db } from "../db/client.ts";
import { alarmNoLaterThan, type HubState } from "./hubState.ts";
import { jobById, statusAndProvider } from "./jobReads.ts";
import { publishCapacity } from "./matchmakers.ts";
import { checkSucceededResult } from "./resultCheck.ts";
import { send, sendTo } from "./sockets.ts";

export async function onStatus(state: HubState, address: Address, jobId: string, phase: "pulling" | "running", detail?: string): Promise<void> {
  const ctx = state.jobContext();
  if (phase === "pulling") return setStatusDetail(ctx.db, jobId, "starting", detail ?? "pulling the image", address);
  // A repeated "running" after a reconnect, or a job canceled meanwhile, changes nothing.
  await state.store.fromHeldCopy(jobId, (seen) => transitionIfStill(ctx, jobId, "processing", { statusDetail: null }, "hub", { provider: address }, seen));
}

export async function onLog(state: HubState, address: Address, jobId: string, data: string): Promise<void> {
  // Only once the provider's accept has landed (messages of a job are handled in the order sent): one that was only offered the job has no word in its log.
  const reservation = state.store.reservation(jobId);
  // A job being stopped still has its last words.
  if (reservation?.address !== address || reservation.state === "offered") return;
  await jobRoomOf(state.env, jobId).appendLogs(jobId, data);
}

export async function onResult(state: HubState, ws: WebSocket, address: Address, result: ResultMessage): Promise<void> {
  const ack = (accepted: boolean, error?: string) =>
    send(ws, { v: HUB_PROTOCOL_VERSION, type: "job.result.ack", job_id: result.job_id, accepted, ...(error ? { error } : {}) });
  const ctx = state.jobContext();
  // As the hub last saw it (its "running"), else read. Only D1's word refuses: a copy that would is read again.
  const held = state.store.heldJobs.get(result.job_id);
  const fromCopy = held && held.provider === address && (held.status === "starting" || held.status === "processing");
  const job = fromCopy ? held : await jobById(ctx.db, result.job_id);
  if (!job || job.provider !== address) return ack(false, `job ${result.job_id} is not assigned to you`);
  const finished = async (status: string) => {
    // A result resent after a reconnect, or one for a job ended meanwhile: free its
    // capacity and acknowledge, so the provider drops it.
    if (state.store.release(job.id)) await publishCapacity(state, address);
    ack(status === result.outcome, `the job is already ${status}`);
  };
  if (isTerminal(job.status as JobStatus)) return finished(job.status);

  let to: JobStatus = result.outcome;
  const gpuFigures = gpuFiguresOfJob(result.metrics?.gpu, state.store.reservation(job.id)?.gpuUuids);
  // A warning (e.g. a process killed for memory in a job that exited 0) is the job's last word.
  const patch: TransitionPatch = {
    exitCode: result.exit_code,
    error: result.error,
    ...(result.warning ? { statusDetail: result.warning } : {}),
    // Docker's own times: a container adopted after a restart ran for what its engine says, not for the time the hub waited.
    ...(result.metrics ? { containerRunMs: result.metrics.run_ms } : {}),
    ...(result.metrics?.egress ? { egressUsage: result.metrics.egress } : {}),
    ...(gpuFigures ? { gpuUsage: gpuFigures } : {}),
    // With the status, so whoever hears the job ended finds how its inputs and image came (warm or not).
    ...(result.metrics ? { arrival: result.metrics } : {}),
  };
  let refusal: string | undefined;
  if (result.outcome === "succeeded") {
    const check = await checkSucceededResult(
      {
        jobId: job.id,
        chainJobId: job.chainJobId as Hex,
        provider: address,
        maxAmountWei: BigInt(job.maxAmountWei ?? "0"),
        domain: marketDomain(state.config),
        bucket: state.env.OUTPUTS,
        // A copy may be stale (the job canceled or given to another meanwhile): D1 says before any output is stored.
        ...(fromCopy && result.inline_outputs?.length ? { stillAssigned: stillAssignedTo(ctx.db, job.id, address) } : {}),
      },
      result,
    );
    if (check.ok) {
      patch.output = check.manifest;
      patch.claim = { amountWei: check.amountWei.toString(), signature: check.signature };
    } else {
      to = "failed";
      refusal = check.error;
      patch.error = `the provider's result was refused: ${check.error}`;
    }
  }
  // The provider hears its ack before the job's listeners (webhooks, room, matching, chain) are through.
  const announcing = announcingBeside(ctx);
  try {
    // Its "running" was lost with a connection: the job ran, so it passes through processing.
    // Undefined when it had moved on meanwhile (processing after all, as a stale copy may hide): the step below reads it.
    const seen = job.status === "starting" && to === "succeeded" ? await transitionIfStill(announcing.ctx, job.id, "processing", { statusDetail: null }, "hub", { provider: address }, job) : job;
    await transitionJob(announcing.ctx, job.id, to, patch, "hub", { provider: address }, seen);
  } catch (error) {
    await announcing.settled();
    if (!lostTheRace(error)) throw error;
    const now = await statusAndProvider(ctx.db, job.id);
    if (now?.provider !== address) return ack(false, `job ${result.job_id} is no longer assigned to you`);
    return finished(now.status);
  }
  state.store.release(job.id);
  ack(refusal === undefined, refusal);
  await announcing.settled();
  await publishCapacity(state, address);
}

/** Whether D1 still has the job running (or starting) on this provider. */
function stillAssignedTo(db: Db, jobId: string, address: Address): Promise<boolean> {
  const read = statusAndProvider(db, jobId).then((now) => now?.provider === address && (now.status === "starting" || now.status === "processing"));
  // A check that ends before it needs the answer leaves it unread: its failure is then nobody's (one read where it is needed throws).
  read.catch(() => undefined);
  return read;
}

/** How long a provider may take to stop a job ended under it before the hub frees its capacity anyway. */
export const STOPPING_GRACE_MS = 60_000;

/**
 * A job left `starting`/`processing` by someone else's hand (cancel, sweeper): stop it. A job that was
 * only offered frees its capacity now; one its provider accepted holds it until the provider says the
 * container has stopped (its result), since offering that room meanwhile would be declined as busy,
 * and a busy provider is offered nothing for a while (matching/holdOffs.ts).
 */
export async function jobEnded(state: HubState, address: string, jobId: string, status: JobStatus): Promise<void> {
  const reservation = state.store.reservation(jobId);
  sendTo(state, address, { v: HUB_PROTOCOL_VERSION, type: "job.cancel", job_id: jobId, reason: `the job is ${status}` });
  if (!reservation) return;
  if (reservation.state === "offered") {
    state.store.release(jobId);
    return publishCapacity(state, address as Address);
  }
  const deadline = Date.now() + STOPPING_GRACE_MS;
  state.store.markStopping(jobId, deadline);
  await alarmNoLaterThan(state, deadline);
}

/** Stops past their grace: the provider never said, so what they held is freed. */
export async function releaseOverdueStops(state: HubState, now: number): Promise<void> {
  for (const stop of state.store.overdueStops(now)) {
    state.store.release(stop.jobId);
    await publishCapacity(state, stop.address as Address);
  }
}
