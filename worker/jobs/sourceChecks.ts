// A new job's input files that name other jobs' outputs, checked when it is created:
// each source must be the creator's own job (another account's is answered as one that
// does not exist), must not have failed, and once it has succeeded the entry must name
// the output's exact size and sha256, so the creator's signature covers those bytes.
import { sourceJobsOf, type JobSpec, type ResolvedInputFile } from "../../protocol/jobSpec.ts";
import type { Db } from "../db/client.ts";
import { ApiError, unprocessable, type FieldError } from "../errors/problem.ts";
import { entryOutcome, resolveInputFiles, sourceProblem } from "./inputSources.ts";
import { loadSources } from "./inputResolution.ts";

/** The problem type of a 422 whose only fault is entries that must name their succeeded source's exact bytes: its errors give them. */
export const INPUT_SOURCE_MISMATCH = "input-source-mismatch";

export interface CheckedSources {
  /** Every entry resolved, when every source has succeeded; else null and the job waits. */
  resolved: ResolvedInputFile[] | null;
  /** What the job waits for, when it does. */
  waitingDetail: string | null;
}

/** Undefined for a spec whose inputs name no other job; else how its sources stand, or the 422 that says what is wrong. */
export async function checkInputSources(db: Db, account: string, spec: JobSpec): Promise<CheckedSources | undefined> {
  const ids = sourceJobsOf(spec);
  if (ids.length === 0) return undefined;
  const files = spec.input_files ?? [];
  const sources = await loadSources(db, account, ids);
  const faults: FieldError[] = [];
  const pins: FieldError[] = [];
  files.forEach((file, index) => {
    if (!file.from) return;
    const entry = { ...file, from: file.from };
    const at = `input_files.${index}`;
    const outcome = entryOutcome(entry, sources.get(file.from.job));
    if (outcome.kind === "unknown") faults.push({ path: `${at}.from.job`, message: `${file.from.job} was not found` });
    else if (outcome.kind === "ended") faults.push({ path: `${at}.from.job`, message: `${sourceProblem(entry, outcome)}; only a succeeded job's outputs can be inputs` });
    else if (outcome.kind === "no-output") faults.push({ path: `${at}.from.output`, message: sourceProblem(entry, outcome)! });
    else if (outcome.kind === "mismatch" || (outcome.kind === "ready" && (file.size === undefined || file.sha256 === undefined))) {
      const actual = outcome.kind === "mismatch" ? outcome.actual : outcome.file;
      pins.push({ path: `${at}.size`, message: `must be ${actual.size}, the size of ${file.from.job}'s output ${file.from.output}` });
      pins.push({ path: `${at}.sha256`, message: `must be ${actual.sha256}, the sha256 of ${file.from.job}'s output ${file.from.output}` });
    }
  });
  if (faults.length > 0) throw unprocessable(`input_files names jobs' outputs that cannot be inputs: ${faults.map((f) => `${f.path}: ${f.message}`).slice(0, 3).join("; ")}`, [...faults, ...pins]);
  if (pins.length > 0) {
    throw new ApiError(
      422,
      INPUT_SOURCE_MISMATCH,
      "Input file does not match its source",
      "input_files names outputs of jobs that have succeeded: give each entry that output's size and sha256 (in `errors`), so your signature covers its exact bytes, and sign again",
      pins,
    );
  }
  const resolution = resolveInputFiles(files, sources);
  if (resolution.kind === "failed") throw unprocessable(resolution.reason, [{ path: "input_files", message: resolution.reason }]);
  return resolution.kind === "resolved" ? { resolved: resolution.files, waitingDetail: null } : { resolved: null, waitingDetail: resolution.detail };
}
