// A daemon's hub socket, stood in for in tests of its data plane: a JobSignaling
// on it sends signals to `route` (as the real hub would take them) and gets what
// the test delivers; ice.request is answered with no servers (host candidates on
// 127.0.0.1 are all these tests need).
import { EventEmitter } from "node:events";
import { pino } from "pino";
import type { ClientSignal, ServerSignal } from "../../../protocol/signaling.ts";
import type { HubClient } from "../../../provider/connection/hubClient.ts";
import { JobSignaling } from "../../../provider/dataplane/jobSignaling.ts";

export const silentLog = pino({ level: "silent" });

export interface SentSignal {
  job_id: string;
  signal: ClientSignal;
  for_job?: string;
}

export interface StandInHub {
  signaling: JobSignaling;
  /** A frame from the job's rendezvous for this daemon. */
  deliver(jobId: string, signal: ServerSignal): void;
}

export function standInHub(route: (sent: SentSignal) => void): StandInHub {
  const hub = new EventEmitter() as EventEmitter & { send(message: { type: string }): boolean };
  hub.send = (message) => {
    if (message.type === "ice.request") queueMicrotask(() => hub.emit("message", { v: 1, type: "ice.servers", ice_servers: [], expires_at: Math.floor(Date.now() / 1000) + 3600 }));
    if (message.type === "signal") route(message as unknown as SentSignal);
    return true;
  };
  return {
    signaling: new JobSignaling(hub as unknown as HubClient, silentLog),
    deliver: (jobId, signal) => hub.emit("message", { v: 1, type: "signal", job_id: jobId, signal }),
  };
}
