// What a command prints: with --json, the result as JSON on stdout (and nothing
// else there); otherwise lines for a person. Notes (progress, "queued…") go to
// stderr either way, so stdout stays the command's answer.
export interface Output {
  readonly json: boolean;
  /** The command's result: `value` as JSON, or `human(value)` for a person. */
  result<T>(value: T, human: (value: T) => string | string[]): void;
  /** A note for a person while the command works (always stderr). */
  note(text: string): void;
}

export function createOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Output {
  return {
    json,
    result(value, human) {
      if (json) {
        stdout.write(`${JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
        return;
      }
      const text = human(value);
      const lines = Array.isArray(text) ? text : [text];
      if (lines.length > 0) stdout.write(`${lines.join("\n")}\n`);
    },
    note(text) {
      if (!json) stderr.write(`${text}\n`);
    },
  };
}

/** Columns padded to the widest cell, for lists. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "));
}
