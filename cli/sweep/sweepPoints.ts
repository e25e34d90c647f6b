// A sweep's points from its flags: a grid (`--grid`), random trials (`--sample` with
// `--trials`, seeded by `--seed`), or trials at every point of a grid; checked as a
// whole (names distinct across both, at most 8, at most one batch of jobs) and said
// in one line, with the seed that draws the same points again.
import { UsageError } from "../errors.ts";
import { parseGrid, pointsOf, refuseOversized, sweepLimits, type Point } from "./grid.ts";
import { describeDistribution, newSeed, parseSamples, samplePoints } from "./sampling.ts";

const MAX_SEED = 0x7fff_ffff;

export interface SweepFlags {
  grid?: string[];
  sample?: string[];
  trials?: number;
  seed?: number;
}

export interface SweepPoints {
  points: Point[];
  /** "2 seed × 3 hidden", "20 trials of lr log 0.0001..0.1; seed 7". */
  description: string;
  /** The seed the trials were drawn with, when there are any. */
  seed?: number;
}

/** The flag a point's name came from, to name it in a message. */
export const flagOfName = (flags: SweepFlags, name: string) => (flags.sample?.some((flag) => flag.startsWith(`${name}=`)) ? "--sample" : "--grid");

export function sweepPointsOf(flags: SweepFlags): SweepPoints {
  const axes = parseGrid(flags.grid ?? []);
  const sampled = parseSamples(flags.sample ?? []);
  const gridPart = axes.map((axis) => `${axis.values.length} ${axis.name}`).join(" × ");
  if (sampled.length === 0) {
    if (flags.trials !== undefined || flags.seed !== undefined) throw new UsageError("--trials and --seed draw random points: say what to draw with --sample NAME=KIND:…");
    return { points: pointsOf(axes), description: gridPart };
  }
  const clash = sampled.find((axis) => axes.some((gridAxis) => gridAxis.name === axis.name));
  if (clash) throw new UsageError(`${clash.name} is given by --grid and by --sample: keep one`);
  if (axes.length + sampled.length > sweepLimits.maxAxes) throw new UsageError(`a sweep varies at most ${sweepLimits.maxAxes} names; this one varies ${axes.length + sampled.length}`);
  const trials = flags.trials;
  if (trials === undefined) throw new UsageError("--sample draws random points: say how many with --trials N");
  if (trials < 1) throw new UsageError("--trials must be 1 or more");
  const grid = pointsOf(axes);
  refuseOversized(grid.length * trials, () => (axes.length ? `${gridPart} grid points × ${trials} trials` : `${trials} trials`), "fewer trials");
  if (flags.seed !== undefined && (flags.seed < 0 || flags.seed > MAX_SEED)) throw new UsageError(`--seed is a whole number from 0 to ${MAX_SEED}`);
  const seed = flags.seed ?? newSeed();
  const drawn = `${trials} trials of ${sampled.map(describeDistribution).join(", ")}`;
  return { points: samplePoints(grid, sampled, trials, seed), description: `${axes.length ? `${gridPart}, ${drawn} each` : drawn}; seed ${seed}`, seed };
}
