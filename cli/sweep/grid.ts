// A sweep's grid: `--grid lr=0.1,0.01 --grid hidden=32,64` is every combination of
// the values given (here four), each one job. Its points are labelled on the jobs
// they become, so the sweep can be read back from the API alone (`pond sweep show`).
import { LabelValue } from "../../protocol/labels.ts";
import { jobLimits, labelLimits } from "../../protocol/limits.ts";
import { terminalText } from "../terminalText.ts";
import { UsageError } from "../errors.ts";

/** The label every job of a sweep carries, its value the sweep's id. */
export const SWEEP_LABEL = "pond.sweep";
/** Each point's value of an axis is labelled `pond.sweep/<name>`. */
export const AXIS_LABEL_PREFIX = `${SWEEP_LABEL}/`;

export const sweepLimits = {
  /** Jobs one sweep may create: one batch create, all or none (and one page of the listing shows them all). */
  maxJobs: jobLimits.maxBatchJobs,
  /** Names it varies: with the sweep's own label and the run's --label ones, within a job's 16 labels. */
  maxAxes: 8,
} as const;

export interface Axis {
  name: string;
  values: string[];
}

/** One combination: a value for each axis, in the axes' order. */
export type Point = Array<[name: string, value: string]>;

/** The axes of `--grid NAME=v1,v2,…` flags, checked: distinct names, distinct values, each short enough to be a label. */
export function parseGrid(flags: readonly string[]): Axis[] {
  const axes: Axis[] = [];
  for (const flag of flags) {
    const at = flag.indexOf("=");
    if (at <= 0 || flag.slice(at + 1) === "") throw new UsageError(`--grid must be NAME=VALUE,VALUE,…, got "${terminalText(flag.slice(0, 80))}"`);
    const name = checkedAxisName(flag.slice(0, at), "--grid");
    if (axes.some((axis) => axis.name === name)) throw new UsageError(`--grid ${name} is given twice: put all its values in one (--grid ${name}=a,b,c)`);
    const values = flag.slice(at + 1).split(",").map((value) => value.trim());
    if (values.some((value) => value === "")) throw new UsageError(`--grid ${name} has an empty value: "${terminalText(flag.slice(at + 1, at + 81))}"`);
    const repeated = values.find((value, i) => values.indexOf(value) !== i);
    if (repeated !== undefined) throw new UsageError(`--grid ${name} lists ${terminalText(repeated.slice(0, 40))} twice`);
    axes.push({ name, values: values.map((value) => checkedValue(name, value, "--grid")) });
  }
  if (axes.length > sweepLimits.maxAxes) throw new UsageError(`a sweep varies at most ${sweepLimits.maxAxes} names; this one varies ${axes.length}`);
  refuseOversized(axes.reduce((count, axis) => count * axis.values.length, 1), () => `this grid is ${axes.map((axis) => axis.values.length).join(" × ")}`);
  return axes;
}

/** A name a sweep varies: it becomes part of a label key (`pond.sweep/<name>`), so it is held to a key's rules. */
export function checkedAxisName(name: string, flag: string): string {
  if (name === "" || `${AXIS_LABEL_PREFIX}${name}`.length > labelLimits.maxKeyLength || !/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new UsageError(`${flag} ${terminalText(name.slice(0, 80))}: a name is letters, digits, '.', '_' and '-', at most ${labelLimits.maxKeyLength - AXIS_LABEL_PREFIX.length} of them`);
  }
  return name;
}

/** Each value becomes a label of its job: one the API would refuse is refused here, before any job is created. */
export function checkedValue(name: string, value: string, flag: string): string {
  const checked = LabelValue.safeParse(value);
  if (!checked.success) throw new UsageError(`${flag} ${name}: the value ${terminalText(JSON.stringify(value.slice(0, 40)))} ${checked.error.issues[0]!.message}`);
  return value;
}

/** A sweep of more jobs than one batch creates is refused, saying how big it is (`size`: "this grid is 10 × 11") and what to cut. */
export function refuseOversized(jobs: number, size: () => string, fewer = "fewer values"): void {
  if (jobs > sweepLimits.maxJobs) {
    throw new UsageError(`${size()} = ${jobs} jobs; a sweep is at most ${sweepLimits.maxJobs}: ${fewer}, or split it in several sweeps`);
  }
}

/** Every combination, the last axis varying fastest (as nested loops in the order given would). */
export function pointsOf(axes: readonly Axis[]): Point[] {
  return axes.reduce<Point[]>((points, axis) => points.flatMap((point) => axis.values.map((value): Point => [...point, [axis.name, value]])), [[]]);
}

/** A random search's seed, on each of its jobs: `pond sweep show` says it, so the same points can be drawn again. */
export const SEED_LABEL = `${SWEEP_LABEL}.seed`;

/** The labels of one point's job: the sweep, where the point lies on each axis, and the seed its values were drawn with. */
export function pointLabels(sweepId: string, point: Point, seed?: number): Record<string, string> {
  return {
    [SWEEP_LABEL]: sweepId,
    ...(seed !== undefined ? { [SEED_LABEL]: String(seed) } : {}),
    ...Object.fromEntries(point.map(([name, value]) => [`${AXIS_LABEL_PREFIX}${name}`, value])),
  };
}

/** A job's point, read back from its labels, in the order they were written. */
export function pointOfLabels(labels: Record<string, string>): Point {
  return Object.entries(labels)
    .filter(([key]) => key.startsWith(AXIS_LABEL_PREFIX))
    .map(([key, value]): [string, string] => [key.slice(AXIS_LABEL_PREFIX.length), value]);
}

export const describePoint = (point: Point) => point.map(([name, value]) => `${name}=${value}`).join(", ");

/** A new sweep's id: short enough to type, random enough not to meet another of the same creator's. */
export function newSweepId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(5));
  return `swp_${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
