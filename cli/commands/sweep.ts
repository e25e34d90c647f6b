// `pond sweep …`: a sweep (`pond run … --grid`) read back from the API by its id,
// its jobs found by their label: the table again, waited for, or the jobs still
// open stopped.
import type { Command } from "commander";
import type { Job } from "../../protocol/job.ts";
import { isTerminal } from "../../protocol/jobStatus.ts";
import type { PondClient } from "../../sdk/index.ts";
import { integer, type CliContext } from "../context.ts";
import { describeCliError, PartialFailure, UsageError } from "../errors.ts";
import { exitCodes } from "../exitCodes.ts";
import { cancelEach, jobsOfSweep, waitForSweep } from "../sweep/sweepJobs.ts";
import { rankingOf, showSweep } from "../sweep/sweepResults.ts";

export function registerSweep(program: Command, ctx: () => CliContext): void {
  const sweep = program.command("sweep").description("a sweep made by pond run … --grid, read back by its id");

  sweep
    .command("show")
    .argument("<sweep-id>")
    .option("--metric <name>", "rank the jobs by this number in their metrics file (highest first)")
    .option("--minimize", "with --metric: lowest first (a loss)")
    .option("--metrics-file <path>", "the output that holds each job's metrics, a JSON object", "metrics.json")
    .description("each job of the sweep: its point, how it ended, and its metrics; exits 1 unless all succeeded")
    .action(async (id: string, options: { metric?: string; minimize?: boolean; metricsFile: string }) => {
      const c = ctx();
      const ranking = rankingOf(options);
      const sdk = await c.client();
      const jobs = await sweepJobs(sdk, id);
      await showSweep(c, sdk, id, jobs, ranking);
    });

  sweep
    .command("wait")
    .argument("<sweep-id>")
    .option("--metric <name>", "rank the jobs by this number in their metrics file (highest first)")
    .option("--minimize", "with --metric: lowest first (a loss)")
    .option("--metrics-file <path>", "the output that holds each job's metrics, a JSON object", "metrics.json")
    .option("--timeout <s>", "give up after this many seconds (the jobs go on)", integer)
    .description("wait until every job of the sweep has ended (one made with --detach, from any machine), then the table; exits 1 unless each succeeded or was stopped early")
    .action(async (id: string, options: { metric?: string; minimize?: boolean; metricsFile: string; timeout?: number }) => {
      const c = ctx();
      const ranking = rankingOf(options);
      if (options.timeout !== undefined && options.timeout < 1) throw new UsageError(`--timeout is in seconds and at least 1; got ${options.timeout}`);
      const sdk = await c.client();
      const found = await sweepJobs(sdk, id);
      const note = (text: string) => c.output.note(text);
      const { jobs, open } = await waitForSweep(sdk, found.map((job) => job.id), { note, ...(options.timeout !== undefined ? { timeoutMs: options.timeout * 1000 } : {}) });
      if (open.length) note(`[pond: ${open.length} still open after ${options.timeout} s; they go on]`);
      await showSweep(c, sdk, id, jobs, ranking);
    });

  sweep
    .command("cancel")
    .argument("<sweep-id>")
    .description("cancel every job of the sweep that has not ended")
    .action(async (id: string) => {
      const c = ctx();
      const sdk = await c.client();
      const open = (await sweepJobs(sdk, id)).filter((job) => !isTerminal(job.status));
      // Every open job is tried, whatever becomes of one: a failure is reported at the end, not in place of the rest.
      const { canceled, failures } = await cancelEach(sdk, open);
      c.output.result(canceled, (jobs) => (jobs.length ? jobs.map((job) => `${job.id} ${job.status}`) : [`sweep ${id}: no job left open`]));
      if (failures.length) {
        // Reported as the first failure is (its exit code and problem), with every one named.
        const failed = failures.map((f) => ({ id: f.id, error: describeCliError(f.error) }));
        throw new PartialFailure(failures[0]!.error, `sweep ${id}: ${canceled.length} canceled, ${failures.length} could not be (${failed.map((f) => `${f.id}: ${f.error}`).join("; ")}); run pond sweep cancel ${id} again`, { canceled: canceled.map((job) => job.id), failed });
      }
    });
}

/** The sweep's jobs, oldest first (the grid's order), or why there are none. */
async function sweepJobs(sdk: PondClient, id: string): Promise<Job[]> {
  if (!/^swp_[0-9a-f]{10}$/.test(id)) throw new UsageError(`"${id}" is not a sweep id (pond run … --grid prints one: swp_ and 10 hex digits)`);
  const jobs = await jobsOfSweep(sdk, id);
  if (jobs.length === 0) throw new UsageError(`no sweep ${id} among your jobs`, exitCodes.notFound);
  return jobs;
}
