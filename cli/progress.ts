// Progress for long waits (image pulls, transfers): a bar redrawn in place on a
// terminal, plain lines at most every few seconds otherwise (logs, CI).
export interface Progress {
  /** `done` of `total` (bytes or percent); `label` says what it is. */
  update(label: string, done: number, total: number): void;
  finish(label: string): void;
}

const BAR = 24;
const PLAIN_EVERY_MS = 5_000;

export function createProgress(stream: NodeJS.WriteStream & { isTTY?: boolean } = process.stderr, enabled = true): Progress {
  let lastPlain = 0;
  /** The last plain line written: the same figure twice (a transfer reporting 100% more than once) is written once. */
  let lastLine = "";
  let drawn = false;
  return {
    update(label, done, total) {
      if (!enabled) return;
      const fraction = total > 0 ? Math.min(1, done / total) : 0;
      const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
      if (stream.isTTY) {
        const filled = Math.round(fraction * BAR);
        stream.write(`\r${label} [${"#".repeat(filled)}${"-".repeat(BAR - filled)}] ${percent}`);
        drawn = true;
        return;
      }
      const now = Date.now();
      if (now - lastPlain < PLAIN_EVERY_MS && fraction < 1) return;
      const line = `${label} ${percent}`;
      if (line === lastLine) return;
      lastPlain = now;
      lastLine = line;
      stream.write(`${line}\n`);
    },
    finish(label) {
      if (!enabled) return;
      if (drawn) stream.write(`\r${label} done${" ".repeat(BAR + 4)}\n`);
      drawn = false;
    },
  };
}

/** "pulling ghcr.io/x: 41% of 1.2 GB" → 41, as the provider words pull progress (provider/executor/pullProgress.ts). */
export function percentIn(detail: string | null): number | undefined {
  const match = detail ? /(\d{1,3})%/.exec(detail) : null;
  return match ? Number(match[1]) : undefined;
}
