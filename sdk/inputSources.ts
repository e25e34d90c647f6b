// Input files that name an earlier job's output (`from`), made ready to sign: an
// entry whose job has succeeded gets that output's size and sha256 (the API requires
// them, so the signature covers those bytes), and the jobs still under way say how
// long the new job may wait for them (its authorization's deadline must cover it).
import type { Job } from "../protocol/job.ts";
import type { InputFile } from "../protocol/jobSpec.ts";
import { isTerminal } from "../protocol/jobStatus.ts";
import { jobLimits } from "../protocol/limits.ts";
import { PondApiError } from "./errors.ts";

/** The problem type the API answers with when an entry must name its succeeded source's exact bytes (worker/jobs/sourceChecks.ts). */
export const INPUT_SOURCE_MISMATCH_TYPE = "https://pond.dev/problems/input-source-mismatch";

export interface PinnedInputs {
  files: InputFile[] | undefined;
  /** The longest its unfinished sources may still take (each one's match timeout and timeout), in seconds. */
  waitS: number;
  /** Entries left without size and sha256: their jobs had not finished. */
  open: number;
}

export async function pinInputSources(getJob: (id: string) => Promise<Job>, files: readonly InputFile[] | undefined): Promise<PinnedInputs> {
  if (!files?.some((file) => file.from)) return { files: files ? [...files] : undefined, waitS: 0, open: 0 };
  const ids = [...new Set(files.flatMap((file) => (file.from ? [file.from.job] : [])))];
  const sources = new Map<string, Job | undefined>(
    await Promise.all(
      ids.map(async (id) => {
        try {
          return [id, await getJob(id)] as const;
        } catch (error) {
          // One that is not found is left as named: the API's answer says so, for every entry at once.
          if (error instanceof PondApiError && error.status === 404) return [id, undefined] as const;
          throw error;
        }
      }),
    ),
  );
  let waitS = 0;
  let open = 0;
  const pinned = files.map((file) => {
    if (!file.from) return file;
    const source = sources.get(file.from.job);
    if (!source || isTerminal(source.status)) {
      const output = source?.status === "succeeded" ? source.output?.files.find((candidate) => candidate.path === file.from!.output) : undefined;
      // Only left out ones: given values are the caller's, for the API to check.
      return output && file.size === undefined && file.sha256 === undefined ? { ...file, size: output.size, sha256: output.sha256 } : file;
    }
    open += 1;
    waitS = Math.max(waitS, (source.spec.match_timeout_s ?? jobLimits.defaultMatchTimeoutS) + source.spec.timeout_s);
    return file;
  });
  return { files: pinned, waitS, open };
}

/** Whether the API refused a job because an entry must name its (meanwhile succeeded) source's exact bytes. */
export function isInputSourceMismatch(error: unknown): boolean {
  return error instanceof PondApiError && error.problem.type === INPUT_SOURCE_MISMATCH_TYPE;
}
