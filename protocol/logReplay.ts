// Lining up a replayed log tail with what a reader already shows: the CLI's
// `pond run` and the dashboard's job page both reopen a dropped log stream,
// whose first event repeats the tail. Pure.

/**
 * The part of `replay` not yet printed, when `replay` is the log's tail (the
 * log's last characters) and `printed` ends with what was printed so far: the
 * longest prefix of `replay` that `printed` ends with is skipped.
 */
export function unseenOutput(printed: string, replay: string): string {
  if (printed.length === 0 || replay.length === 0) return replay;
  // Knuth–Morris–Pratt: run `printed` through the matcher for `replay`; where it
  // stands at the end is the longest prefix of `replay` that `printed` ends with.
  const border = new Array<number>(replay.length).fill(0);
  for (let i = 1, k = 0; i < replay.length; i++) {
    while (k > 0 && replay[i] !== replay[k]) k = border[k - 1]!;
    if (replay[i] === replay[k]) k += 1;
    border[i] = k;
  }
  const seen = printed.slice(-replay.length);
  let matched = 0;
  // By UTF-16 unit, as the indexes into `replay` are.
  for (let i = 0; i < seen.length; i++) {
    if (matched === replay.length) matched = border[matched - 1]!;
    while (matched > 0 && seen[i] !== replay[matched]) matched = border[matched - 1]!;
    if (seen[i] === replay[matched]) matched += 1;
  }
  return replay.slice(matched);
}
