// Input files that name an earlier job's output (protocol/jobSpec.ts `from`): what
// each entry's source says of it. Pure: creation (api/jobs.ts, via sourceChecks.ts)
// turns an outcome into a 422, resolution (resolution.ts) into a job that is ready,
// still waits, or fails saying why.
import type { InputFile, JobSpec, ResolvedInputFile } from "../../protocol/jobSpec.ts";
import { sourceJobsOf } from "../../protocol/jobSpec.ts";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import { jobLimits } from "../../protocol/limits.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import type { jobs } from "../db/schema.ts";

/** The columns of a job row these read (serialize.ts's JobRow, named here without importing it: it imports this file). */
type InputColumns = Pick<typeof jobs.$inferSelect, "spec" | "resolvedInputFiles">;

/** What resolution needs of a source job (one of the same account, or absent). */
export interface SourceJob {
  id: string;
  status: JobStatus;
  error: string | null;
  output: OutputManifest | null;
}

/** One entry with `from`, as its source stands. */
export type EntryOutcome =
  | { kind: "ready"; file: ResolvedInputFile }
  | { kind: "waiting" }
  | { kind: "unknown" }
  | { kind: "ended"; status: "failed" | "canceled" | "timed_out"; error: string | null }
  | { kind: "no-output"; outputs: string[] }
  /** The entry gave a size and sha256 that are not that output's. */
  | { kind: "mismatch"; actual: { size: number; sha256: string } };

export function entryOutcome(file: InputFile & { from: NonNullable<InputFile["from"]> }, source: SourceJob | undefined): EntryOutcome {
  if (!source) return { kind: "unknown" };
  if (source.status === "failed" || source.status === "canceled" || source.status === "timed_out") return { kind: "ended", status: source.status, error: source.error };
  if (source.status !== "succeeded") return { kind: "waiting" };
  const outputs = source.output?.files ?? [];
  const output = outputs.find((candidate) => candidate.path === file.from.output);
  if (!output) return { kind: "no-output", outputs: outputs.map((candidate) => candidate.path) };
  // Left out while the source ran: filled in now. Given, they must be the output's.
  const pinned = file.size !== undefined || file.sha256 !== undefined;
  if (pinned && (file.size !== output.size || file.sha256 !== output.sha256)) return { kind: "mismatch", actual: { size: output.size, sha256: output.sha256 } };
  return { kind: "ready", file: { path: file.path, size: output.size, sha256: output.sha256, from: file.from } };
}

/** A job whose inputs are all known, one that still waits (on which jobs), or one that cannot run (why). */
export type Resolution = { kind: "resolved"; files: ResolvedInputFile[] } | { kind: "waiting"; on: string[]; detail: string } | { kind: "failed"; reason: string };

const ended = { failed: "failed", canceled: "was canceled", timed_out: "timed out" } as const;

/** What keeps an entry's source from giving it, as "job_…, which …"; undefined when nothing does. */
export function sourceProblem(file: InputFile & { from: NonNullable<InputFile["from"]> }, outcome: EntryOutcome): string | undefined {
  const { job, output } = file.from;
  switch (outcome.kind) {
    case "unknown":
      return `${job}, which was not found`;
    case "ended":
      return `${job}, which ${ended[outcome.status]}${outcome.error ? `: ${outcome.error}` : ""}`;
    case "no-output":
      return `${job}, which left no output named ${output}${outcome.outputs.length ? ` (its outputs: ${listed(outcome.outputs)})` : " (it left no outputs)"}`;
    case "mismatch":
      return `${job}'s output ${output}, which is ${outcome.actual.size} bytes with sha256 ${outcome.actual.sha256}, not the size and sha256 the spec names`;
    default:
      return undefined;
  }
}

/** Why a job whose input comes from another cannot run, in its creator's words. */
export function failureReason(file: InputFile & { from: NonNullable<InputFile["from"]> }, outcome: EntryOutcome): string | undefined {
  const problem = sourceProblem(file, outcome);
  return problem === undefined ? undefined : `its input ${file.path} comes from ${problem}`;
}

export function listed(paths: readonly string[], most = 5): string {
  return paths.length > most ? `${paths.slice(0, most).join(", ")} and ${paths.length - most} more` : paths.join(", ");
}

/** Every entry of `files`, with those from other jobs resolved against `sources` (by id). */
export function resolveInputFiles(files: readonly InputFile[], sources: ReadonlyMap<string, SourceJob>): Resolution {
  const resolved: ResolvedInputFile[] = [];
  const waitingFor = new Map<string, string[]>();
  for (const file of files) {
    if (!file.from) {
      // Without `from` the schema requires both.
      resolved.push({ path: file.path, size: file.size!, sha256: file.sha256! });
      continue;
    }
    const entry = { ...file, from: file.from };
    const outcome = entryOutcome(entry, sources.get(file.from.job));
    const reason = failureReason(entry, outcome);
    if (reason) return { kind: "failed", reason };
    if (outcome.kind === "ready") resolved.push(outcome.file);
    else waitingFor.set(file.from.job, [...(waitingFor.get(file.from.job) ?? []), file.path]);
  }
  if (waitingFor.size > 0) return { kind: "waiting", on: [...waitingFor.keys()], detail: waitingDetail(waitingFor) };
  const total = resolved.reduce((sum, file) => sum + file.size, 0);
  if (total > jobLimits.maxInputFilesBytes) return { kind: "failed", reason: `the input files total ${total} bytes once their source jobs' outputs are known; a job takes at most ${jobLimits.maxInputFilesBytes}` };
  return { kind: "resolved", files: resolved };
}

function waitingDetail(waitingFor: ReadonlyMap<string, string[]>): string {
  const parts = [...waitingFor].map(([job, paths]) => `${job} (for ${listed(paths, 3)})`);
  return `waiting for ${listed(parts, 3)} to finish: its input${[...waitingFor.values()].flat().length === 1 ? " comes" : "s come"} from ${waitingFor.size === 1 ? "that job's" : "their"} outputs`;
}

/** Whether the job's spec names other jobs' outputs that are not all known yet: it must not be matched. */
export function awaitsInputs(row: InputColumns): boolean {
  return row.resolvedInputFiles === null && sourceJobsOf(row.spec as JobSpec).length > 0;
}

/** The input files as the provider checks them: the resolved ones, or the spec's own when none come from another job. Null while some wait. */
export function resolvedFilesOf(row: InputColumns): ResolvedInputFile[] | null {
  if (row.resolvedInputFiles !== null) return row.resolvedInputFiles as ResolvedInputFile[];
  const spec = row.spec as JobSpec;
  if (!spec.input_files?.length || sourceJobsOf(spec).length > 0) return null;
  return spec.input_files as ResolvedInputFile[];
}

/**
 * The spec a provider (or a mediator) runs: the spec as signed, with its input files resolved.
 * Its hash is not the signed one, and need not be: the provider checks the bytes, the chain the signed spec.
 */
export function providerSpecOf(row: InputColumns): JobSpec {
  const spec = row.spec as JobSpec;
  return row.resolvedInputFiles === null ? spec : { ...spec, input_files: row.resolvedInputFiles as ResolvedInputFile[] };
}
