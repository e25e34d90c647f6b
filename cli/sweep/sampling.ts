// Random search: `--sample lr=log:1e-4,1e-1 --sample hidden=int:16,256 --trials 20`
// draws 20 points, each name from its range, instead of walking a grid (for a few
// names that matter among many, random points cover each one's range better than a
// grid of the same size). Seeded, so `--seed` makes the same points again; crossed
// with any --grid, each grid point gets its own trials.
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { UsageError } from "../errors.ts";
import { terminalText } from "../terminalText.ts";
import { checkedAxisName, checkedValue, type Point } from "./grid.ts";

/** How one name's values are drawn. */
export type Distribution =
  | { kind: "uniform" | "log"; low: number; high: number }
  | { kind: "int"; low: number; high: number }
  | { kind: "choice"; values: string[] };

export interface SampledAxis {
  name: string;
  distribution: Distribution;
}

/** Significant digits a drawn real keeps: enough to tell runs apart, short enough to read in a table. */
const DIGITS = 4;
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
    return { kind, values: parts.map((value) => checkedValue(name, value, "--sample")) };
  }
  if (kind !== "uniform" && kind !== "log" && kind !== "int") throw new UsageError(`--sample ${name}: "${terminalText(kind.slice(0, 20))}" is not a kind: ${SAMPLE_FORM}`);
  const bounds = parts.map(Number);
  const [low, high] = bounds;
  if (parts.length !== 2 || parts.some((part) => part === "") || !bounds.every(Number.isFinite) || low! >= high!) {
    throw new UsageError(`--sample ${name}=${kind}: needs two numbers, LOW,HIGH, the first below the second`);
  }
  if (kind === "log" && low! <= 0) throw new UsageError(`--sample ${name}=log: its range must be above 0`);
  if (kind === "int" && !bounds.every((bound) => Number.isSafeInteger(bound))) throw new UsageError(`--sample ${name}=int: its bounds must be whole numbers`);
  return { kind, low: low!, high: high! };
}

/**
 * `trials` points drawn for every point of the grid (one empty point when there is none), each sampled name drawn from
 * its distribution by a generator seeded with `seed`: the same flags and seed give the same points.
 */
export function samplePoints(gridPoints: readonly Point[], sampled: readonly SampledAxis[], trials: number, seed: number): Point[] {
  const rng = xoroshiro128plus(seed);
  return gridPoints.flatMap((point) =>
    Array.from({ length: trials }, (): Point => [...point, ...sampled.map(({ name, distribution }): [string, string] => [name, draw(distribution, rng)])]),
  );
}

function draw(distribution: Distribution, rng: ReturnType<typeof xoroshiro128plus>): string {
  switch (distribution.kind) {
    case "choice":
      return distribution.values[uniformInt(rng, 0, distribution.values.length - 1)]!;
    case "int":
      return String(uniformInt(rng, distribution.low, distribution.high));
    case "uniform":
      return short(distribution.low + uniformFloat64(rng) * (distribution.high - distribution.low));
    case "log": {
      const [low, high] = [Math.log(distribution.low), Math.log(distribution.high)];
      return short(Math.exp(low + uniformFloat64(rng) * (high - low)));
    }
  }
}

const short = (value: number) => String(Number(value.toPrecision(DIGITS)));

/** How a sampled axis is said in a sweep's first line. */
export function describeDistribution({ name, distribution }: SampledAxis): string {
  return distribution.kind === "choice" ? `${name} from ${distribution.values.join("|")}` : `${name} ${distribution.kind} ${distribution.low}..${distribution.high}`;
}

/** A seed for a sweep that was given none: printed, so the sweep can be drawn again. */
export const newSeed = () => crypto.getRandomValues(new Uint32Array(1))[0]! >>> 1;
