// Masks the values of a job's secrets in the log it forwards (and in error text),
// as CI services do: a guard against a library that prints its configuration, not
// against a job that means to leak them (it can encode them first, and its
// provider sees them anyway).
export const SECRET_MASK = "***";
/** Shorter values are not masked: they would mask ordinary words. The API refuses them (protocol/jobSpec.ts). */
export const MIN_MASKED_LENGTH = 4;

function maskable(values: readonly string[]): string[] {
  return [...new Set(values.filter((value) => value.length >= MIN_MASKED_LENGTH))];
}

/** Where any value occurs in `text`, overlapping and touching occurrences merged: [start, end) pairs in order. */
function rangesOf(text: string, values: readonly string[]): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  for (const value of values) {
    for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + 1)) found.push([at, at + value.length]);
  }
  found.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const range of found) {
    const last = merged.at(-1);
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([...range]);
  }
  return merged;
}

function masked(text: string, ranges: ReadonlyArray<[number, number]>): string {
  let out = "";
  let from = 0;
  for (const [start, end] of ranges) {
    out += text.slice(from, start) + SECRET_MASK;
    from = end;
  }
  return out + text.slice(from);
}

/** `text` with every value masked. */
export function maskSecrets(text: string, values: readonly string[]): string {
  const kept = maskable(values);
  return kept.length === 0 ? text : masked(text, rangesOf(text, kept));
}

/**
 * Masks a log piece by piece. A piece that does not end a line (Docker cuts a line past 16 KiB into pieces)
 * may end with the start of a value the next piece completes: that end is held back until the next piece,
 * or the flush at the log's end.
 */
export class SecretMask {
  private readonly values: string[];
  private readonly holdChars: number;
  private held = "";

  constructor(values: readonly string[]) {
    this.values = maskable(values);
    this.holdChars = Math.max(0, ...this.values.map((value) => value.length - 1));
  }

  /** Whether part of what was pushed waits for the next piece. */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /** The masked text ready to go out (maybe less than was pushed). */
  push(piece: string): string {
    if (this.values.length === 0) return piece;
    const text = this.held + piece;
    const ranges = rangesOf(text, this.values);
    let cut = text.endsWith("\n") ? text.length : Math.max(0, text.length - this.holdChars);
    // An occurrence across the cut is whole already: it goes out masked, not held.
    for (const [start, end] of ranges) if (start < cut && end > cut) cut = end;
    this.held = text.slice(cut);
    return masked(text.slice(0, cut), ranges.filter(([, end]) => end <= cut));
  }

  /** What is held back, masked: at the log's end. */
  flush(): string {
    const rest = this.held;
    this.held = "";
    return maskSecrets(rest, this.values);
  }
}
