// Random search: `--sample lr=log:1e-4,1e-1 --sample hidden=int:16,256 --trials 20`
// draws 20 points, each name from its range, instead of walking a grid (for a few
// names that matter among many, random points cover each one's range better than a
// grid of the same size). Seeded, so `--seed` makes the same points again; crossed
// with any --grid, each grid point gets its own trials. A drawn real is written
// without an exponent and rounded to a step fine for its range, never leaving it.
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { mersenne } from "pure-rand/generator/mersenne";
import { UsageError } from "../errors.ts";
import { terminalText } from "../terminalText.ts";
import { checkedAxisName, checkedValue, type Point } from "./grid.ts";

/** How one name's values are drawn. */
export type Distribution = { kind: "uniform" | "log" | "int"; low: number; high: number } | { kind: "choice"; values: string[] };

export interface SampledAxis {
  name: string;
  distribution: Distribution;
}

/** Significant digits a drawn real keeps at least: enough to tell runs apart, short enough to read in a table. */
const DIGITS = 4;
/** A drawn real is rounded to a step at most this part of its range, so a narrow range is not rounded away. */
const STEPS = 1000;
/** Bounds a real range may have: within them a value is written without an exponent. */
const LARGEST = 1e15;
const SMALLEST_LOG = 1e-15;
const SAMPLE_FORM = "--sample NAME=uniform:LOW,HIGH, NAME=log:LOW,HIGH, NAME=int:LOW,HIGH or NAME=choice:A,B,…";

/** The names of `--sample NAME=KIND:…` flags and how each is drawn, checked. */
export function parseSamples(flags: readonly string[]): SampledAxis[] {
  const axes: SampledAxis[] = [];
  for (const flag of flags) {
    const at = flag.indexOf("=");
    const colon = flag.indexOf(":", at);
    if (at <= 0 || colon < 0) throw new UsageError(`${SAMPLE_FORM}; got "${terminalText(flag.slice(0, 80))}"`);
    const name = checkedAxisName(flag.slice(0, at), "--sample");
    if (axes.some((axis) => axis.name === name)) throw new UsageError(`--sample ${name} is given twice`);
    axes.push({ name, distribution: distributionOf(name, flag.slice(at + 1, colon), flag.slice(colon + 1).split(",").map((part) => part.trim())) });
  }
  return axes;
}

function distributionOf(name: string, kind: string, parts: string[]): Distribution {
  if (kind === "choice") {
    if (parts.length < 2 || parts.some((part) => part === "")) throw new UsageError(`--sample ${name}=choice: needs two values or more, none empty`);
    const repeated = parts.find((value, i) => parts.indexOf(value) !== i);
    if (repeated !== undefined) throw new UsageError(`--sample ${name}=choice: lists ${terminalText(repeated.slice(0, 40))} twice`);
    return { kind, values: parts.map((value) => checkedValue(name, value, "--sample")) };
  }
  if (kind !== "uniform" && kind !== "log" && kind !== "int") throw new UsageError(`--sample ${name}: "${terminalText(kind.slice(0, 20))}" is not a kind: ${SAMPLE_FORM}`);
  const bounds = parts.map(Number);
  const [low, high] = bounds;
  if (parts.length !== 2 || parts.some((part) => part === "") || !bounds.every(Number.isFinite) || low! >= high!) {
    throw new UsageError(`--sample ${name}=${kind}: needs two numbers, LOW,HIGH, the first below the second`);
  }
  if (kind === "int") {
    if (!bounds.every((bound) => Number.isSafeInteger(bound))) throw new UsageError(`--sample ${name}=int: its bounds must be whole numbers`);
    return { kind, low: low!, high: high! };
  }
  if (bounds.some((bound) => Math.abs(bound) > LARGEST)) throw new UsageError(`--sample ${name}=${kind}: its bounds must be within ±${LARGEST}`);
  if (kind === "log" && low! < SMALLEST_LOG) throw new UsageError(`--sample ${name}=log: its range must start at ${SMALLEST_LOG} or above (a log range is above 0)`);
  return { kind, low: low!, high: high! };
}

/**
 * `trials` points drawn for every point of the grid (one empty point when there is none), each sampled name drawn from
 * its distribution by a generator seeded with `seed`: the same flags and seed give the same points.
 */
export function samplePoints(gridPoints: readonly Point[], sampled: readonly SampledAxis[], trials: number, seed: number): Point[] {
  // Mersenne Twister spreads its seed over its state: nearby seeds (0, 1, 42) start far apart.
  const rng = mersenne(seed);
  return gridPoints.flatMap((point) =>
    Array.from({ length: trials }, (): Point => [...point, ...sampled.map(({ name, distribution }): [string, string] => [name, draw(distribution, rng)])]),
  );
}

type Generator = ReturnType<typeof mersenne>;

function draw(distribution: Distribution, rng: Generator): string {
  switch (distribution.kind) {
    case "choice":
      return distribution.values[uniformInt(rng, 0, distribution.values.length - 1)]!;
    case "int":
      return String(uniformInt(rng, distribution.low, distribution.high));
    case "uniform": {
      const { low, high } = distribution;
      const value = low + uniformFloat64(rng) * (high - low);
      // A step a thousandth of the range, in decimals.
      return written(value, low, high, Math.max(0, -Math.floor(Math.log10((high - low) / STEPS))));
    }
    case "log": {
      const { low, high } = distribution;
      const value = Math.exp(Math.log(low) + uniformFloat64(rng) * Math.log(high / low));
      // Four significant digits, more where the range is narrow: a step a thousandth of its spread, relatively.
      const digits = Math.max(DIGITS, 1 + Math.ceil(-Math.log10(Math.log(high / low) / STEPS)));
      return written(value, low, high, Math.max(0, digits - 1 - Math.floor(Math.log10(value))));
    }
  }
}

/** `value` with `places` decimals and no exponent, rounded inward where rounding would leave [low, high]. */
function written(value: number, low: number, high: number, places: number): string {
  const scale = 10 ** places;
  let text = value.toFixed(places);
  if (Number(text) < low) text = (Math.ceil(low * scale) / scale).toFixed(places);
  if (Number(text) > high) text = (Math.floor(high * scale) / scale).toFixed(places);
  // Trailing zeros say nothing; "-0" is 0.
  const trimmed = text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  return trimmed === "-0" ? "0" : trimmed;
}

/** How a sampled axis is said in a sweep's first line. */
export function describeDistribution({ name, distribution }: SampledAxis): string {
  return distribution.kind === "choice" ? `${name} from ${distribution.values.join("|")}` : `${name} ${distribution.kind} ${distribution.low}..${distribution.high}`;
}

/** A seed for a sweep that was given none: printed, so the sweep can be drawn again. */
export const newSeed = () => crypto.getRandomValues(new Uint32Array(1))[0]! >>> 1;
