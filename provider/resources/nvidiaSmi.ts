// GPUs as nvidia-smi reports them. `parseGpuQuery` reads the CSV of
// `nvidia-smi --query-gpu=… --format=csv[,noheader][,nounits]`, with or without
// the header and unit suffixes, so one parser serves every form nvidia-smi prints.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { GpuInfo } from "../../protocol/hubMessages.ts";

const run = promisify(execFile);

/** The fields Pond asks for, in order. */
export const GPU_QUERY_FIELDS = ["index", "uuid", "name", "memory.total", "driver_version"] as const;

export class GpuQueryError extends Error {
  override name = "GpuQueryError";
}

export function splitRow(line: string): string[] {
  return line.split(",").map((cell) => cell.trim());
}

/** "memory.total [MiB]" → "memory.total". */
export function fieldName(header: string): string {
  return header.replace(/\s*\[[^\]]*\]\s*$/, "").trim();
}

/** "81559 MiB" → 81559, "697.87 W" → 697.87; "[N/A]", "" and other non-numbers → undefined. */
export function readingOf(value: string | undefined): number | undefined {
  const match = /^(-?\d+(?:\.\d+)?)(?:\s*[A-Za-z%]+)?$/.exec(value?.trim() ?? "");
  return match ? Number(match[1]) : undefined;
}

/** A reading that must be there: refuses "[N/A]" and other non-numbers. */
function numberOf(value: string, field: string, line: number): number {
  const reading = readingOf(value);
  if (reading === undefined) throw new GpuQueryError(`nvidia-smi line ${line}: ${field} is "${value}", not a number`);
  return reading;
}

/**
 * Parses nvidia-smi CSV into GpuInfo. Pass `fields` for `noheader` output;
 * otherwise the first line is the header.
 */
export function parseGpuQuery(csv: string, fields?: readonly string[]): GpuInfo[] {
  const lines = csv.split(/\r?\n/).filter((line) => line.trim().length > 0);
  const columns = fields ? [...fields] : splitRow(lines.shift() ?? "").map(fieldName);
  const at = (name: string) => {
    const index = columns.indexOf(name);
    if (index < 0) throw new GpuQueryError(`nvidia-smi output has no "${name}" column (columns: ${columns.join(", ")})`);
    return index;
  };
  const [iIndex, iUuid, iName, iMemory, iDriver] = [at("index"), at("uuid"), at("name"), at("memory.total"), columns.indexOf("driver_version")];
  return lines.map((line, n) => {
    const cells = splitRow(line);
    if (cells.length !== columns.length) {
      throw new GpuQueryError(`nvidia-smi line ${n + 1} has ${cells.length} values for ${columns.length} columns`);
    }
    const uuid = cells[iUuid]!;
    if (!/^GPU-[0-9a-fA-F-]+$/.test(uuid) && !/^MIG-/.test(uuid)) throw new GpuQueryError(`nvidia-smi line ${n + 1}: "${uuid}" is not a GPU UUID`);
    return {
      index: numberOf(cells[iIndex]!, "index", n + 1),
      uuid,
      model: cells[iName]!,
      vram_mb: numberOf(cells[iMemory]!, "memory.total", n + 1),
      ...(iDriver >= 0 ? { driver: cells[iDriver]! } : {}),
    };
  });
}

export type GpuDetection = { kind: "gpus"; gpus: GpuInfo[] } | { kind: "none"; reason: string };

/**
 * Runs nvidia-smi. Missing nvidia-smi (or no driver), or output Pond cannot
 * read, means a CPU-only provider, said plainly: the daemon still starts.
 */
export async function detectGpus(nvidiaSmi = "nvidia-smi"): Promise<GpuDetection> {
  try {
    const { stdout } = await run(nvidiaSmi, [`--query-gpu=${GPU_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"], { timeout: 15_000 });
    const gpus = parseGpuQuery(stdout, GPU_QUERY_FIELDS);
    return gpus.length > 0 ? { kind: "gpus", gpus } : { kind: "none", reason: "nvidia-smi lists no GPUs" };
  } catch (error) {
    if (error instanceof GpuQueryError) return { kind: "none", reason: `could not read what ${nvidiaSmi} reports (${error.message}): offering CPUs only` };
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { kind: "none", reason: `${nvidiaSmi} is not installed: no NVIDIA driver, so this provider offers CPUs only` };
    const stderr = (error as { stderr?: string }).stderr?.trim();
    return { kind: "none", reason: `${nvidiaSmi} failed (${stderr || (error as Error).message}): offering CPUs only` };
  }
}
