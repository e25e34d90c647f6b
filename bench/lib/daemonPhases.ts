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
  ahead: "container made ahead",
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
type Mark = keyof typeof MARKS | "exited";

/** Each phase from one mark to another; a job adds to the phases whose two marks its log has (a container made ahead skips image → created). */
const PHASES = {
  "accept → start (the hub's, or once made ahead)": ["accepted", "started"],
  "accept → container made ahead (beside the hub's answer)": ["accepted", "ahead"],
  "start → image ready (inspected, or pulled)": ["started", "image"],
  "image ready → folders ready (inputs, /outputs volume)": ["image", "folders"],
  "folders ready → container created": ["folders", "created"],
  "created → started (record saved, docker start)": ["created", "container"],
  "start → started, made ahead (record saved, docker start)": ["started", "container"],
  "container exit → the daemon hears it": ["exited", "waited"],
  "heard → run ended (logs drained, state read, outputs measured)": ["waited", "ran"],
  "run ended → result built (outputs hashed, uploaded, signed)": ["ran", "built"],
  "result built → saved in the outbox": ["built", "saved"],
  "saved → outputs kept for peer-to-peer": ["saved", "kept"],
  "kept → job finished (record closed, container and folder removed)": ["kept", "finished"],
  "job finished → hub's ack": ["finished", "acked"],
} as const satisfies Record<string, readonly [Mark, Mark]>;
export type DaemonPhases = Record<keyof typeof PHASES, number[]>;

export function daemonPhases(output: string, jobIds: readonly string[]): DaemonPhases {
  const byJob = new Map<string, Partial<Record<Mark, number>>>();
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
  const phases = Object.fromEntries(Object.keys(PHASES).map((phase) => [phase, [] as number[]])) as DaemonPhases;
  for (const id of jobIds) {
    const marks = byJob.get(id);
    if (!marks) continue;
    // The fine steps of a container made at the start are not mixed with one made ahead: started → container is only the latter's.
    const ahead = marks.ahead !== undefined;
    for (const [phase, [from, to]] of Object.entries(PHASES) as Array<[keyof typeof PHASES, readonly [Mark, Mark]]>) {
      if (!ahead && from === "started" && to === "container") continue;
      const [a, b] = [marks[from], marks[to]];
      if (a !== undefined && b !== undefined) phases[phase].push(b - a);
    }
  }
  return phases;
}
