// One sample of every GPU's load, read from `nvidia-smi --query-gpu=… --format=csv`
// (with or without the header and units, as parseGpuQuery takes them). A value a
// GPU does not report ("[N/A]", "[Not Supported]") is left out, never guessed.
import { GPU_UUID } from "../../protocol/gpuUsage.ts";
import { fieldName, readingOf, splitRow } from "./nvidiaSmi.ts";

/** The fields the sampler asks for, in order. */
export const SAMPLE_FIELDS = ["uuid", "utilization.gpu", "memory.used", "power.draw", "temperature.gpu"] as const;

export interface GpuSample {
  uuid: string;
  utilizationPct: number;
  memoryUsedMb: number;
  powerW?: number;
  temperatureC?: number;
}

/** A reading outside what any GPU reports is no reading. */
const within = (value: number | undefined, min: number, max: number) => (value !== undefined && value >= min && value <= max ? value : undefined);

/**
 * The GPUs' readings; a row without a UUID, utilization or memory reading is skipped (a GPU fallen off the bus says
 * "[GPU requires reset]", and a driver's warning line has no UUID). Without `header`, a first line that does not
 * start like a row is taken for the header (the captured forms); the sampler asks for none and says so.
 */
export function parseGpuSamples(csv: string, fields: readonly string[] = SAMPLE_FIELDS, options: { header?: boolean } = {}): GpuSample[] {
  const lines = csv.split(/\r?\n/).filter((line) => line.trim().length > 0);
  const hasHeader = options.header ?? (lines.length > 0 && !/^\s*(\d|GPU-|MIG-)/.test(lines[0]!.split(",")[0] ?? ""));
  const columns = hasHeader ? splitRow(lines.shift()!).map(fieldName) : [...fields];
  const at = (name: string) => columns.indexOf(name);
  const samples: GpuSample[] = [];
  for (const line of lines) {
    const cells = splitRow(line);
    const uuid = cells[at("uuid")];
    const utilizationPct = readingOf(cells[at("utilization.gpu")]);
    const memoryUsedMb = readingOf(cells[at("memory.used")]);
    if (!uuid || !GPU_UUID.test(uuid) || utilizationPct === undefined || memoryUsedMb === undefined) continue;
    const powerW = within(readingOf(cells[at("power.draw")]), 0, 100_000);
    const temperatureC = within(readingOf(cells[at("temperature.gpu")]), -100, 200);
    // Kept within what a result may carry (protocol/gpuUsage.ts): a driver's odd reading never costs the job its result.
    samples.push({
      uuid,
      utilizationPct: Math.min(100, Math.max(0, utilizationPct)),
      memoryUsedMb: Math.min(10_000_000, Math.max(0, memoryUsedMb)),
      ...(powerW !== undefined ? { powerW } : {}),
      ...(temperatureC !== undefined ? { temperatureC } : {}),
    });
  }
  return samples;
}
