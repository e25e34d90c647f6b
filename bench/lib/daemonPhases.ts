// Where a job's time goes inside the provider daemon, read from its own log
// lines (pino JSON, `time` in ms): offer accepted → started by the hub →
// container started → container exited (Docker's own clock) → result ready
// ("job finished": outputs hashed and uploaded, kept, the container and folder
// removed) → accepted by the hub. For bench:dispatch, so a slower phase shows
// where it is, not only that the total grew.
interface LogLine {
  time: number;
  msg: string;
  job?: string;
  finishedAt?: string;
}

const MARKS = {
  accepted: "accepting an offer",
  started: "starting the job",
  container: "container started",
  finished: "job finished",
  acked: "result accepted",
} as const;

export type DaemonPhases = Record<"accept → hub's start" | "hub's start → container started" | "container exit → result ready" | "result ready → hub's ack", number[]>;

export function daemonPhases(output: string, jobIds: readonly string[]): DaemonPhases {
  const byJob = new Map<string, Partial<Record<keyof typeof MARKS | "exited", number>>>();
  for (const text of output.split("\n")) {
    if (!text.startsWith("{")) continue;
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      continue;
    }
    if (!line.job) continue;
    const marks = byJob.get(line.job) ?? {};
    for (const [mark, msg] of Object.entries(MARKS)) if (line.msg === msg) marks[mark as keyof typeof MARKS] = line.time;
    if (line.msg === MARKS.finished && line.finishedAt) marks.exited = Date.parse(line.finishedAt);
    byJob.set(line.job, marks);
  }
  const phases: DaemonPhases = { "accept → hub's start": [], "hub's start → container started": [], "container exit → result ready": [], "result ready → hub's ack": [] };
  for (const id of jobIds) {
    const m = byJob.get(id);
    if (m?.accepted === undefined || m.started === undefined || m.container === undefined || m.exited === undefined || m.finished === undefined || m.acked === undefined) continue;
    phases["accept → hub's start"].push(m.started - m.accepted);
    phases["hub's start → container started"].push(m.container - m.started);
    phases["container exit → result ready"].push(m.finished - m.exited);
    phases["result ready → hub's ack"].push(m.acked - m.finished);
  }
  return phases;
}
