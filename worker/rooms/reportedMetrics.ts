// A job's reported metrics (protocol/reportedMetrics.ts), read from its output as
// it reaches the room and kept in the room's SQLite: each name's points, thinned
// to one of every `every` past the bound (the newest always kept), so memory and
// storage stay bounded however much a job prints. Output comes in pieces cut
// anywhere, so a metric line cut in two is carried to the next piece.
import { reportedMetricLimits } from "../../protocol/limits.ts";
import { METRICS_MARKER, parseMetricLine, type LatestReported, type ReportedMetrics } from "../../protocol/reportedMetrics.ts";

interface NameState {
  /** Points reported under the name, in all: the newest one's ordinal. */
  reported: number;
  every: number;
  kept: number;
  lastStep: number;
  lastValue: number | null;
}

/** Where the output stands between pieces: at a line's start, inside an ordinary line, or inside what may be a metric line. */
type Carry = { kind: "start" } | { kind: "skip" } | { kind: "metric"; text: string };

const MARKER_WORD = METRICS_MARKER.trim();

/** Runs `body` as one transaction: all of its writes land, or none (the room's `storage.transactionSync`). */
export type Transaction = <T>(body: () => T) => T;

export class ReportedMetricsStore {
  private readonly names = new Map<string, NameState>();
  /** Names whose row is behind `names`, written once a piece has been read. */
  private readonly changed = new Set<string>();
  private carry: Carry = { kind: "start" };
  private ignored = { lines: 0, lastReason: null as string | null };

  constructor(
    private readonly sql: SqlStorage,
    private readonly transaction: Transaction,
    private readonly maxPointsPerName: number = reportedMetricLimits.maxPointsPerName,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS reported_points (name TEXT NOT NULL, n INTEGER NOT NULL, step INTEGER NOT NULL, value REAL, at INTEGER NOT NULL, PRIMARY KEY (name, n))");
    sql.exec("CREATE TABLE IF NOT EXISTS reported_names (name TEXT PRIMARY KEY, reported INTEGER NOT NULL, every INTEGER NOT NULL, kept INTEGER NOT NULL, last_step INTEGER NOT NULL, last_value REAL)");
    sql.exec("CREATE TABLE IF NOT EXISTS reported_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    this.load();
  }

  /** What is kept, into memory: at the start, and again after a piece whose reading failed (its writes undone). */
  private load(): void {
    this.names.clear();
    this.changed.clear();
    this.carry = { kind: "start" };
    this.ignored = { lines: 0, lastReason: null };
    for (const row of this.sql.exec<{ name: string; reported: number; every: number; kept: number; last_step: number; last_value: number | null }>("SELECT * FROM reported_names")) {
      this.names.set(row.name, { reported: row.reported, every: row.every, kept: row.kept, lastStep: row.last_step, lastValue: row.last_value });
    }
    for (const row of this.sql.exec<{ key: string; value: string }>("SELECT key, value FROM reported_state")) {
      if (row.key === "carry") this.carry = JSON.parse(row.value) as Carry;
      if (row.key === "ignored") this.ignored = JSON.parse(row.value) as typeof this.ignored;
    }
  }

  /** Reads the metric lines in a piece of output received at `now`: all of it is kept, or (if reading fails) none, the store as before. */
  ingest(piece: string, now: number): void {
    // Most output: whole lines, none of them a metric.
    if (this.carry.kind === "start" && piece.endsWith("\n") && !piece.includes(MARKER_WORD)) return;
    try {
      this.transaction(() => {
        this.read(piece, now);
        this.writeChanged();
      });
    } catch (error) {
      this.load();
      throw error;
    }
  }

  /** A new attempt's output starts on a line of its own: what the last one left unfinished is dropped. */
  lineBreak(): void {
    if (this.carry.kind === "start") return;
    this.setCarry({ kind: "start" }, this.carry);
  }

  private read(piece: string, now: number): void {
    const before = this.carry;
    let text = piece;
    let position = 0;
    if (before.kind === "skip") {
      const end = text.indexOf("\n");
      if (end < 0) return;
      position = end + 1;
    } else if (before.kind === "metric") {
      text = before.text + piece;
    }
    // Most output has no metric in it: only where the piece ends matters then.
    if (before.kind !== "metric" && !text.includes(MARKER_WORD, position)) {
      this.setCarry(this.carryAfter(text.slice(text.lastIndexOf("\n") + 1 || position)), before);
      return;
    }
    const ignoredBefore = this.ignored.lines;
    for (;;) {
      const end = text.indexOf("\n", position);
      if (end < 0) break;
      const line = text.slice(position, text[end - 1] === "\r" ? end - 1 : end);
      if (line.startsWith(METRICS_MARKER)) this.readLine(line, now);
      position = end + 1;
    }
    this.setCarry(this.carryAfter(text.slice(position)), before);
    if (this.ignored.lines !== ignoredBefore) this.sql.exec("INSERT OR REPLACE INTO reported_state (key, value) VALUES ('ignored', ?)", JSON.stringify(this.ignored));
  }

  /** What the end of a piece (its unfinished last line) leaves to the next one. */
  private carryAfter(rest: string): Carry {
    if (rest === "") return { kind: "start" };
    const mayBeMetric = rest.startsWith(METRICS_MARKER) || METRICS_MARKER.startsWith(rest);
    if (!mayBeMetric) return { kind: "skip" };
    if (rest.length > reportedMetricLimits.maxLineChars) {
      this.ignore(`a metrics line is at most ${reportedMetricLimits.maxLineChars} characters`);
      return { kind: "skip" };
    }
    return { kind: "metric", text: rest };
  }

  private setCarry(carry: Carry, before: Carry): void {
    this.carry = carry;
    if (carry.kind === "start" && before.kind === "start") return;
    this.sql.exec("INSERT OR REPLACE INTO reported_state (key, value) VALUES ('carry', ?)", JSON.stringify(carry));
  }

  private ignore(reason: string): void {
    this.ignored = { lines: this.ignored.lines + 1, lastReason: reason };
  }

  private readLine(line: string, now: number): void {
    const parsed = parseMetricLine(line);
    if (parsed.kind === "ignored") return this.ignore(parsed.reason);
    const added = parsed.report.values.filter(([name]) => !this.names.has(name)).length;
    if (this.names.size + added > reportedMetricLimits.maxNames) {
      return this.ignore(`a job reports at most ${reportedMetricLimits.maxNames} metric names; this line would make ${this.names.size + added}`);
    }
    const steps = parsed.report.values.map(([name]) => parsed.report.step ?? (this.names.get(name)?.lastStep ?? -1) + 1);
    if (steps.some((step) => step > reportedMetricLimits.maxStep)) return this.ignore(`steps go up to ${reportedMetricLimits.maxStep}`);
    parsed.report.values.forEach(([name, value], i) => this.record(name, value, steps[i]!, now));
  }

  private record(name: string, value: number | null, step: number, now: number): void {
    const state = this.names.get(name) ?? { reported: 0, every: 1, kept: 0, lastStep: -1, lastValue: null };
    if (step <= state.lastStep) {
      // The run went back (resumed from a checkpoint): what it reported past here is replaced.
      this.sql.exec("DELETE FROM reported_points WHERE name = ? AND step >= ?", name, step);
      state.kept = this.count(name);
    } else if (state.reported % state.every !== 0) {
      // The newest point stays even off the stride, until a newer one comes (it is always there).
      this.sql.exec("DELETE FROM reported_points WHERE name = ? AND n = ?", name, state.reported);
      state.kept -= 1;
    }
    state.reported += 1;
    this.sql.exec("INSERT INTO reported_points (name, n, step, value, at) VALUES (?, ?, ?, ?, ?)", name, state.reported, step, value, now);
    state.kept += 1;
    if (state.kept > this.maxPointsPerName) {
      state.every *= 2;
      this.sql.exec("DELETE FROM reported_points WHERE name = ? AND n % ? != 0 AND n != ?", name, state.every, state.reported);
      state.kept = this.count(name);
    }
    state.lastStep = step;
    state.lastValue = value;
    this.names.set(name, state);
    this.changed.add(name);
  }

  private writeChanged(): void {
    for (const name of this.changed) {
      const state = this.names.get(name)!;
      this.sql.exec(
        "INSERT OR REPLACE INTO reported_names (name, reported, every, kept, last_step, last_value) VALUES (?, ?, ?, ?, ?, ?)",
        name,
        state.reported,
        state.every,
        state.kept,
        state.lastStep,
        state.lastValue,
      );
    }
    this.changed.clear();
  }

  private count(name: string): number {
    return this.sql.exec<{ kept: number }>("SELECT COUNT(*) AS kept FROM reported_points WHERE name = ?", name).one().kept;
  }

  /** Each name's newest point; null before any. */
  latest(): LatestReported | null {
    if (this.names.size === 0) return null;
    return Object.fromEntries([...this.names].map(([name, state]) => [name, { step: state.lastStep, value: state.lastValue }]));
  }

  /** Every kept point of each name (of `only`, when given), in the order reported. */
  series(only?: readonly string[]): Omit<ReportedMetrics, "job_id"> {
    const wanted = only ? [...this.names.keys()].filter((name) => only.includes(name)) : [...this.names.keys()].sort();
    const series: ReportedMetrics["series"] = {};
    for (const name of wanted) {
      const state = this.names.get(name)!;
      const points = this.sql
        .exec<{ step: number; value: number | null; at: number }>("SELECT step, value, at FROM reported_points WHERE name = ? ORDER BY n", name)
        .toArray()
        .map((row) => ({ step: row.step, value: row.value, time: new Date(row.at).toISOString() }));
      series[name] = { points, reported: state.reported, every: state.every };
    }
    return { series, ignored: { lines: this.ignored.lines, last_reason: this.ignored.lastReason } };
  }
}
