// What the benchmark and its fleet processes (fleetProcess.ts) say to each other over IPC.

export type FleetCommand =
  | { type: "add"; count: number; firstIndex: number; runMs: number; wave: number }
  | { type: "stats" }
  /** Every provider socket (and upload) cut at once, as a hub restart or a network failure would. */
  | { type: "drop" }
  | { type: "stop"; drainMs: number };

export interface FleetStats {
  providers: number;
  connected: number;
  welcomes: number;
  offers: number;
  starts: number;
  cancels: number;
  resultsAccepted: number;
  resultsRefused: number;
  /** Warnings and errors the daemons logged, by message, with one example each. */
  problems: Record<string, { count: number; example: string }>;
  cpuUserMs: number;
  cpuSystemMs: number;
  rssMb: number;
}

export type FleetReply =
  | { type: "ready"; proxyUrl: string }
  | { type: "added"; ms: number; connected: number }
  | { type: "stats"; stats: FleetStats }
  | { type: "dropped"; sockets: number }
  | { type: "stopped"; drained: boolean }
  | { type: "error"; message: string };
