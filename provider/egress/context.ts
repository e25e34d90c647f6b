// What the proxy gives each connection's handler (a CONNECT tunnel, a plain
// HTTP request): admission, counting, socket tracking and its limits.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { EgressShare } from "./rate.ts";
import type { EgressMeter } from "./usage.ts";

export type Admission =
  | { ok: true; host: string; port: number; address: string; /** Gives the connection's slot back; idempotent. */ release: () => void }
  | { ok: false; status: number; reason: string; addresses?: string[] };

export interface EgressContext {
  /** Whether a connection to `target`:`port` may go, holding one of the job's connection slots if so. */
  admit(target: string, port: number): Promise<Admission>;
  /** Counts and logs a refusal; the handler answers the job. */
  refuse(refusal: { status: number; reason: string; host?: string; port?: number; addresses?: string[] }): void;
  /** Destroyed on close() and when the budget is passed; its errors end in 'close', where handlers clean up. */
  track(socket: Socket): void;
  meter: EgressMeter;
  /** This job's part of the provider's bandwidth cap, taking turns with other jobs'; none when unset. */
  rate?: EgressShare;
  idleTimeoutMs: number;
  /** How much of a host's bytes one read of each of this job's connections takes (hostReads.ts). */
  hostReadBytes: number;
  connectTimeoutMs: number;
  log: Logger;
}
