// The one place Durable Object stubs come from: which object owns a provider's
// socket, a job class's queue, a job's room, a relayer key's nonces, the index,
// a creator's admissions.
import type { Config } from "../config/config.ts";
import { hubName, shardOf, type JobClass } from "./sharding.ts";

export function hubOf(env: Env, config: Config, address: string) {
  return env.HUB.get(env.HUB.idFromName(hubName(shardOf(address, config.hubShards))));
}

export function matchmakerOf(env: Env, jobClass: JobClass) {
  return env.MATCHMAKER.get(env.MATCHMAKER.idFromName(jobClass));
}

export function jobRoomOf(env: Env, jobId: string) {
  return env.JOB_ROOM.get(env.JOB_ROOM.idFromName(jobId));
}

/** A job's signaling rendezvous (its WebRTC offers, answers and candidates). */
export function rendezvousOf(env: Env, jobId: string) {
  return env.RENDEZVOUS.get(env.RENDEZVOUS.idFromName(jobId));
}

/** One relayer object per signing key, so each key's nonces have a single owner. */
export function relayerOf(env: Env, config: Config) {
  if (!config.chain.relayerAddress) throw new Error("RELAYER_PRIVATE_KEY is not set");
  return env.RELAYER.get(env.RELAYER.idFromName(config.chain.relayerAddress));
}

/** One indexer, so two readers never race on the cursor. */
export function indexerOf(env: Env) {
  return env.INDEXER.get(env.INDEXER.idFromName("market"));
}

/** One admission object per creator, so their paid jobs are admitted against their escrow one at a time. */
export function admissionOf(env: Env, account: string) {
  return env.ADMISSION.get(env.ADMISSION.idFromName(account.toLowerCase()));
}

/** A batch's early-stopping judge, named by the batch's first job (one judge a batch). */
export function sweepJudgeOf(env: Env, firstJobId: string) {
  return env.SWEEP_JUDGE.get(env.SWEEP_JUDGE.idFromName(firstJobId));
}
