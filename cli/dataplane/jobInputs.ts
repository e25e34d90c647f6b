// `pond run --input job_…:model.pt` (that output of an earlier job of yours, at
// /inputs/model.pt) and `--input job_…` (all of its outputs): entries that name the
// job's output (`from`), fetched by the new job's provider from where that job left
// them, so this machine is not on the path. A local file or folder of that name wins.
import { lstat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Job } from "../../protocol/job.ts";
import { RelativePath, type InputFile } from "../../protocol/jobSpec.ts";
import { isTerminal } from "../../protocol/jobStatus.ts";
import { PondApiError, type PondClient } from "../../sdk/index.ts";
import { UsageError } from "../errors.ts";
import { refuseRepeatedInputPaths } from "../runRequests.ts";
import { terminalText } from "../terminalText.ts";

const JOB_REFERENCE = /^(job_[0-9a-z]+)(?::(.*))?$/;

export interface JobOutputReference {
  /** As given on the command line. */
  given: string;
  job: string;
  /** One output's path; undefined for all of them. */
  output?: string;
}

/** Splits --input arguments: local paths, and references to earlier jobs' outputs (those that are not also local paths). */
export async function splitInputArguments(given: readonly string[], cwd = process.cwd()): Promise<{ local: string[]; fromJobs: JobOutputReference[] }> {
  const local: string[] = [];
  const fromJobs: JobOutputReference[] = [];
  for (const argument of given) {
    const match = JOB_REFERENCE.exec(argument);
    const exists = match ? await lstat(resolve(cwd, argument)).then(() => true, () => false) : true;
    if (!match || exists) local.push(argument);
    else fromJobs.push({ given: argument, job: match[1]!, ...(match[2] !== undefined ? { output: match[2] } : {}) });
  }
  return { local, fromJobs };
}

const ended = { failed: "failed", canceled: "was canceled", timed_out: "timed out" } as const;

/**
 * The input_files entries the references name, checked against each job as it stands: a job that
 * failed, or has no such output, is refused here saying so; a job still under way can be named only
 * output by output, since its file list is not known yet. The SDK pins sizes and sha256 before signing.
 */
export async function inputsFromJobs(sdk: Pick<PondClient, "getJob">, references: readonly JobOutputReference[]): Promise<InputFile[]> {
  const jobs = new Map<string, Job>();
  const entries: InputFile[] = [];
  for (const reference of references) {
    const job = jobs.get(reference.job) ?? (await jobOf(sdk, reference));
    jobs.set(job.id, job);
    const status = job.status;
    if (status === "failed" || status === "canceled" || status === "timed_out") {
      throw new UsageError(`--input ${reference.given}: ${job.id} ${ended[status]}${job.error ? ` (${terminalText(job.error)})` : ""}; only a succeeded job's outputs can be inputs`);
    }
    if (reference.output === undefined) {
      if (!isTerminal(status)) throw new UsageError(`--input ${reference.given}: ${job.id} has not finished, so its outputs are not known yet; name the one you want, e.g. --input ${job.id}:model.pt`);
      const outputs = job.output?.files ?? [];
      if (outputs.length === 0) throw new UsageError(`--input ${reference.given}: ${job.id} left no outputs`);
      for (const file of outputs) entries.push({ path: file.path, size: file.size, sha256: file.sha256, from: { job: job.id, output: file.path } });
      continue;
    }
    if (!RelativePath.safeParse(reference.output).success) throw new UsageError(`--input ${reference.given}: "${reference.output}" is not an output path (letters, digits, . _ - and /)`);
    if (status === "succeeded") {
      const file = job.output?.files.find((candidate) => candidate.path === reference.output);
      if (!file) throw new UsageError(`--input ${reference.given}: ${job.id} left no output named ${reference.output}; its outputs: ${(job.output?.files ?? []).map((f) => f.path).join(", ") || "none"}`);
      entries.push({ path: file.path, size: file.size, sha256: file.sha256, from: { job: job.id, output: file.path } });
    } else {
      entries.push({ path: reference.output, from: { job: job.id, output: reference.output } });
    }
  }
  return entries;
}

async function jobOf(sdk: Pick<PondClient, "getJob">, reference: JobOutputReference): Promise<Job> {
  try {
    return await sdk.getJob(reference.job);
  } catch (error) {
    if (error instanceof PondApiError && error.status === 404) throw new UsageError(`--input ${reference.given}: there is no job ${reference.job} of yours (and no such file or folder here)`);
    throw error;
  }
}

/**
 * The input files a quote (--dry-run) counts: another job's outputs as a run would send them; a local file or folder
 * must exist, but is not hashed (nothing is sent, and a provider that has it cached is not counted).
 */
export async function quotedInputFiles(sdk: PondClient, inputs: readonly string[] | undefined): Promise<InputFile[]> {
  const { local, fromJobs } = await splitInputArguments(inputs ?? []);
  for (const path of local) await lstat(path).catch(() => Promise.reject(new UsageError(`--input ${terminalText(path)}: no such file or folder`)));
  const jobFiles = await inputsFromJobs(sdk, fromJobs);
  refuseRepeatedInputPaths(jobFiles);
  return jobFiles;
}
