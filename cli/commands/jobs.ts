// `pond jobs …`: look at and manage your jobs.
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { formatEther } from "viem";
import type { Job } from "../../protocol/job.ts";
import { JobStatus } from "../../protocol/jobStatus.ts";
import { LabelFilter } from "../../protocol/labels.ts";
import { labelLimits } from "../../protocol/limits.ts";
import { integer, repeated, type CliContext } from "../context.ts";
import { OutputIntegrityError, UsageError } from "../errors.ts";
import { exitCodes } from "../exitCodes.ts";
import { followLogs } from "../followLogs.ts";
import { followReportedMetrics } from "../followMetrics.ts";
import { describeLatestReported, describeReportedMetrics } from "../reportedMetricsView.ts";
import { table } from "../output.ts";
import { fetchOutputs } from "../dataplane/outputsDownload.ts";
import { howDataMoved } from "../dataplane/transferSummary.ts";
import { createHash } from "node:crypto";
import { describeCheckpoint } from "../checkpointSummary.ts";
import { describeEgress } from "../egressSummary.ts";
import { describeGpus } from "../gpuSummary.ts";
import { terminalText } from "../terminalText.ts";
import { endedLine, waitForJobs } from "../waitJobs.ts";

export function registerJobs(program: Command, ctx: () => CliContext): void {
  const jobs = program.command("jobs").description("look at and manage your jobs");

  jobs
    .command("list")
    .description("your jobs, newest first")
    .option("--status <status>", `only jobs in this status (${JobStatus.options.join(", ")})`)
    .option("--label <KEY=VALUE>", `only jobs carrying this label (repeatable, up to ${labelLimits.maxFilters}: all of them)`, repeated)
    .option("--limit <n>", "how many", integer, 20)
    .option("--cursor <cursor>", "continue from a page's `next` cursor")
    .action(async (options: { status?: string; label?: string[]; limit: number; cursor?: string }) => {
      const c = ctx();
      const status = options.status === undefined ? undefined : JobStatus.safeParse(options.status);
      if (status && !status.success) throw new UsageError(`--status must be one of ${JobStatus.options.join(", ")}`);
      const labels = (options.label ?? []).map((text) => LabelFilter.safeParse(text));
      const bad = labels.findIndex((filter) => !filter.success);
      if (bad >= 0) throw new UsageError(`--label ${options.label![bad]}: ${labels[bad]!.error!.issues[0]!.message}`);
      if (labels.length > labelLimits.maxFilters) throw new UsageError(`--label may be given at most ${labelLimits.maxFilters} times`);
      const page = await (await c.client()).listJobs({
        ...(status ? { status: status.data } : {}),
        ...(options.label?.length ? { label: options.label } : {}),
        limit: options.limit,
        ...(options.cursor ? { cursor: options.cursor } : {}),
      });
      const next = page.next ? new URL(page.next).searchParams.get("cursor") : null;
      // The next page is read with the same filters.
      const again = [...(options.status ? [` --status ${options.status}`] : []), ...(options.label ?? []).map((label) => ` --label ${shellWord(label)}`)].join("");
      c.output.result({ ...page, next_cursor: next }, (p) => [
        ...table(p.results.map((job) => [job.id, job.status, job.created_at, job.template ?? job.spec.image, describeLabels(job)])),
        ...(next ? [`more: pond jobs list${again} --cursor ${next}`] : []),
      ]);
    });

  jobs
    .command("get")
    .argument("<id>")
    .description("one job, in full")
    .action(async (id: string) => {
      const c = ctx();
      c.output.result(await (await c.client()).getJob(id), describeJob);
    });

  jobs
    .command("cancel")
    .argument("<id>")
    .option("--reason <text>", "why: kept in the job's status_detail, for whoever reads it later")
    .description("stop a job (a running container is stopped, then killed)")
    .action(async (id: string, options: { reason?: string }) => {
      const c = ctx();
      c.output.result(await (await c.client()).cancelJob(id, options.reason), (job) => `job ${job.id} ${job.status}${job.status_detail ? ` (${terminalText(job.status_detail)})` : ""}`);
    });

  jobs
    .command("wait")
    .argument("<ids...>")
    .option("--timeout <s>", "give up after this many seconds (the jobs go on); default: until every job ends", integer)
    .description("wait until every job named ends, printing each as it does; exits 1 unless all succeeded")
    .action(async (ids: string[], options: { timeout?: number }) => {
      const c = ctx();
      if (options.timeout !== undefined && options.timeout < 1) throw new UsageError(`--timeout is in seconds and at least 1; got ${options.timeout}`);
      const { jobs: seen, open } = await waitForJobs(await c.client(), ids, {
        ...(options.timeout !== undefined ? { timeoutMs: options.timeout * 1000 } : {}),
        onEnded: (job) => c.output.note(endedLine(job)),
      });
      c.output.result(seen, (all) => {
        const succeeded = all.filter((job) => job.status === "succeeded").length;
        const ended = all.length - open.length;
        return [`${succeeded} of ${all.length} succeeded${ended > succeeded ? `, ${ended - succeeded} did not` : ""}${open.length ? `; still open after ${options.timeout} s: ${open.join(" ")}` : ""}`];
      });
      if (seen.some((job) => job.status !== "succeeded")) process.exitCode = exitCodes.jobUnsuccessful;
    });

  jobs
    .command("logs")
    .argument("<id>")
    .description("print a job's output, following it live until it ends")
    .action(async (id: string) => {
      const c = ctx();
      const done = await followLogs(await c.client(), id, { write: (text) => process.stdout.write(text) });
      if (done.status !== "succeeded") process.exitCode = exitCodes.jobUnsuccessful;
    });

  jobs
    .command("metrics")
    .argument("<id>")
    .option("--name <NAME>", "only this metric (repeatable)", repeated)
    .option("--follow", "print each step's values as the job reports them, until it ends")
    .description("the metrics a job reported in its output (POND_METRICS lines): each one's newest value, range and curve")
    .action(async (id: string, options: { name?: string[]; follow?: boolean }) => {
      const c = ctx();
      const sdk = await c.client();
      if (!options.follow) return c.output.result(await sdk.reportedMetrics(id, options.name), describeReportedMetrics);
      if (c.output.json) throw new UsageError("--follow prints rows for a person; --json without it gives every point");
      const { job, reported } = await followReportedMetrics(sdk, id, { ...(options.name ? { names: options.name } : {}), write: (line) => process.stdout.write(`${line}\n`) });
      c.output.result(reported, describeReportedMetrics);
      c.output.note(endedLine(job));
      if (job.status !== "succeeded") process.exitCode = exitCodes.jobUnsuccessful;
    });

  jobs
    .command("outputs")
    .argument("<id>")
    .description("the files a job produced, with their sizes and sha256")
    .action(async (id: string) => {
      const c = ctx();
      const job = await (await c.client()).getJob(id);
      c.output.result(job.output?.files ?? [], (files) => (files.length ? table(files.map((f) => [f.path, `${f.size} bytes`, f.sha256])) : `job ${id} has no outputs (it is ${job.status})`));
    });

  jobs
    .command("download")
    .argument("<id>")
    .argument("[path]", "one output path, as in the manifest (default: every output)")
    .option("-o, --out <file>", "where to write one output (default: stdout)")
    .option("--output <dir>", "a folder to put every output in (default: the current folder)")
    .description("download a job's outputs, checking each file's sha256 against the manifest")
    .action(async (id: string, path: string | undefined, options: { out?: string; output?: string }) => {
      const c = ctx();
      const sdk = await c.client();
      const job = await sdk.getJob(id);
      if (path === undefined) {
        const { files, transfer } = await fetchOutputs(sdk, c.p2p, job, options.output ?? ".", c.progress, (text) => c.output.note(text));
        return c.output.result(files, (f) => [`${f.length} file${f.length === 1 ? "" : "s"} saved in ${options.output ?? "."}, each sha256 checked`, ...howDataMoved(null, transfer)]);
      }
      const file = job.output?.files.find((f) => f.path === path);
      if (!file) throw new UsageError(`job ${id} has no output ${JSON.stringify(path)}: see pond jobs outputs ${id}`, exitCodes.notFound);
      const bytes = await sdk.downloadOutput(id, path);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (sha256 !== file.sha256) throw new OutputIntegrityError(`${path} arrived with sha256 ${sha256}; the manifest says ${file.sha256}: not written`);
      if (options.out) await writeFile(options.out, bytes);
      else process.stdout.write(bytes);
    });
}

export function describeJob(job: Job): string[] {
  const lines = [
    `${job.id}  ${job.status}${job.status_detail ? ` (${terminalText(job.status_detail)})` : ""}`,
    `  ${job.template ? `template ${job.template}, ` : ""}image ${job.spec.image}`,
    `  created ${job.created_at}${job.started_at ? `, started ${job.started_at}` : ""}${job.completed_at ? `, completed ${job.completed_at}` : ""}`,
  ];
  if (Object.keys(job.labels).length) lines.push(`  labels ${describeLabels(job)}`);
  if (job.provider) lines.push(`  provider ${job.provider} (attempt ${job.attempt + 1})`);
  lines.push(...describeCheckpoint(job));
  lines.push(...describeLatestReported(job));
  if (job.error) lines.push(`  error: ${terminalText(job.error)}`);
  if (job.price.claimed_wei) lines.push(`  claimed ${formatEther(BigInt(job.price.claimed_wei))} ETH; settlement ${job.settlement}`);
  for (const file of job.output?.files ?? []) lines.push(`  output ${file.path} (${file.size} bytes, sha256 ${file.sha256})`);
  lines.push(...describeEgress(job));
  lines.push(...describeGpus(job));
  return lines;
}

const describeLabels = (job: Job) => terminalText(Object.entries(job.labels).map(([key, value]) => `${key}=${value}`).join(" "));

/** A word a shell reads back as it is: quoted unless plainly safe (a label's value may hold spaces or `$`). */
const shellWord = (word: string) => (/^[A-Za-z0-9._\/=:,+@%-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);
