// Metrics a job reports while it runs (a training loss, an accuracy), as lines of
// its own output: `POND_METRICS {"step": 3, "loss": 0.21}`. Any image can write
// them (a print is enough), they travel with the log, and the job's room keeps
// each name's curve (worker/rooms/reportedMetrics.ts). Like the log they are the
// provider's report, not proven: the job's signed outputs are what a result is.
import { z } from "zod";
import { reportedMetricLimits } from "./limits.ts";

/** What a metric line starts with, the space included. */
export const METRICS_MARKER = "POND_METRICS ";

/** A metric's name: letters, digits and _ . / -, not starting with a digit or a punctuation mark. */
export const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_.\/-]*$/;
// A property every object has: a series under it would vanish into the prototype.
const RESERVED = new Set(["__proto__"]);
/** A name METRIC_NAME allows that no job may report under. */
export const isReservedMetricName = (name: string) => RESERVED.has(name);

/** Whether a job may report under this name: METRIC_NAME's characters, not too long, not reserved (stopEarly.ts says the same). */
export const isMetricName = (name: string) => name.length <= reportedMetricLimits.maxNameLength && METRIC_NAME.test(name) && !isReservedMetricName(name);

/** A value as people read it: four significant digits, NaN for a value that is not a number. */
export const formatMetricValue = (value: number | null) => (value === null ? "NaN" : String(Number(value.toPrecision(4))));

/** JSON from a job, for a reason: control, invisible and direction characters escaped, whatever reads it. */
const escaped = (json: string) => json.replace(/[\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** One line's report: the step it is for (null: the one after the name's last), and each value (null: NaN or ±Infinity). */
export interface MetricReport {
  step: number | null;
  values: [name: string, value: number | null][];
}

export type MetricLine = { kind: "report"; report: MetricReport } | { kind: "ignored"; reason: string };

// Python's json.dumps writes a diverged loss as NaN: not JSON, but a run that
// diverges should show it, so those words stand for null (not a number).
const NOT_FINITE = /(?<=[:\[,]\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g;

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(text.replace(NOT_FINITE, "null"));
  }
}

/** A line of output that starts with METRICS_MARKER, read as a report; anything else about it is a reason it was ignored. */
export function parseMetricLine(line: string): MetricLine {
  const ignored = (reason: string): MetricLine => ({ kind: "ignored", reason });
  if (line.length > reportedMetricLimits.maxLineChars) return ignored(`a metrics line is at most ${reportedMetricLimits.maxLineChars} characters; this one has ${line.length}`);
  let body: unknown;
  try {
    body = parsedJson(line.slice(METRICS_MARKER.length));
  } catch {
    return ignored(`what follows ${METRICS_MARKER.trim()} is not JSON`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return ignored(`what follows ${METRICS_MARKER.trim()} must be a JSON object of names and numbers`);
  let step: number | null = null;
  const values: MetricReport["values"] = [];
  for (const [name, value] of Object.entries(body)) {
    if (name === "step") {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > reportedMetricLimits.maxStep) {
        return ignored(`"step" must be a whole number from 0 to ${reportedMetricLimits.maxStep}; it is ${escaped(JSON.stringify(value) ?? String(value)).slice(0, 40)}`);
      }
      step = value;
      continue;
    }
    if (!isMetricName(name)) {
      return ignored(`${escaped(JSON.stringify(name.slice(0, 80)))} is not a metric name: letters, digits and _ . / -, starting with a letter or _, at most ${reportedMetricLimits.maxNameLength}`);
    }
    if (typeof value === "number" && !Number.isFinite(value)) return ignored(`"${name}" is too large for a number (past ±1.8e308)`);
    if (value !== null && typeof value !== "number") return ignored(`"${name}" must be a number; it is ${escaped(JSON.stringify(value) ?? String(value)).slice(0, 40)}`);
    values.push([name, value]);
  }
  if (values.length === 0) return ignored("a metrics line names no metric");
  return { kind: "report", report: { step, values } };
}

export const ReportedPoint = z.object({
  step: z.int(),
  value: z.number().nullable().meta({ description: "Null where the job reported NaN or ±Infinity" }),
  time: z.string().meta({ description: "When the API received it" }),
});

export const ReportedSeries = z.object({
  points: z.array(ReportedPoint).meta({ description: "In the order reported; a step reported again (a run resumed from a checkpoint) replaces it and every later step" }),
  reported: z.int().meta({ description: "Points the job reported under this name in all" }),
  every: z.int().meta({
    description: `1, or one point of every \`every\` is kept: past ${reportedMetricLimits.maxPointsPerName} points every other one is let go (the newest always stays), so a long run keeps its whole curve`,
  }),
});

export const ReportedMetrics = z
  .object({
    job_id: z.string(),
    series: z.record(z.string(), ReportedSeries),
    ignored: z
      .object({ lines: z.int(), last_reason: z.string().nullable() })
      .meta({ description: "Lines that started with POND_METRICS but were not read, and why the latest was not" }),
  })
  .meta({ id: "ReportedMetrics" });
export type ReportedMetrics = z.infer<typeof ReportedMetrics>;

/** Each name's newest point, as the job object carries it (`reported_metrics`). */
export const LatestReported = z.record(z.string(), z.object({ step: z.int(), value: z.number().nullable() }));
export type LatestReported = z.infer<typeof LatestReported>;

/** The newest step any name has reached; null before any. */
export function newestReportedStep(latest: LatestReported | null): number | null {
  const steps = Object.values(latest ?? {}).map((point) => point.step);
  return steps.length ? Math.max(...steps) : null;
}

/** The lowest and highest of a series' numbers (its NaNs left out); undefined when it has none. */
export function valueRange(points: readonly { value: number | null }[]): { lowest: number; highest: number } | undefined {
  const numbers = points.map((point) => point.value).filter((value): value is number => value !== null);
  return numbers.length ? { lowest: Math.min(...numbers), highest: Math.max(...numbers) } : undefined;
}
