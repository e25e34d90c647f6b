// Where a job's time goes inside the provider daemon, read from its own log
// lines (pino JSON, `time` in ms; its debug lines included): offer accepted →
// started by the hub → container started → container exited (Docker's own
// clock) → result built → saved → outputs kept → job finished → accepted by
// the hub. For bench:dispatch, so a slower phase shows
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
  image: "image ready",
  folders: "folders ready",
  created: "container created",
  container: "container started",
  waited: "container ended",
  ran: "run ended",
  built: "result built",
  saved: "result saved",
  kept: "outputs kept",
  finished: "job finished",
  acked: "result accepted",
} as const;

const PHASES = [
  "accept → hub's start",
  "hub's start → image ready (inspected, or pulled)",
  "image ready → folders ready (inputs, /outputs volume)",
  "folders ready → container created",
  "created → started (record saved, docker start)",
  "container exit → the daemon hears it",
  "heard → run ended (logs drained, state read, outputs measured)",
  "run ended → result built (outputs hashed, uploaded, signed)",
  "result built → saved in the outbox",
  "saved → outputs kept for peer-to-peer",
  "kept → job finished (record closed, container and folder removed)",
  "job finished → hub's ack",
] as const;
export type DaemonPhases = Record<(typeof PHASES)[number], number[]>;

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
  const phases = Object.fromEntries(PHASES.map((phase) => [phase, [] as number[]])) as DaemonPhases;
  for (const id of jobIds) {
    const m = byJob.get(id);
    const times = [m?.accepted, m?.started, m?.image, m?.folders, m?.created, m?.container, m?.exited, m?.waited, m?.ran, m?.built, m?.saved, m?.kept, m?.finished, m?.acked];
    if (times.some((time) => time === undefined)) continue;
    const [accepted, started, image, folders, created, container, exited, waited, ran, built, saved, kept, finished, acked] = times as number[];
    const spans = [started! - accepted!, image! - started!, folders! - image!, created! - folders!, container! - created!, waited! - exited!, ran! - waited!, built! - ran!, saved! - built!, kept! - saved!, finished! - kept!, acked! - finished!];
    PHASES.forEach((phase, i) => phases[phase].push(spans[i]!));
  }
  return phases;
}
