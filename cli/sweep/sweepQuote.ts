// `pond run … --grid … --dry-run` (or --sample): what a sweep would meet and cost,
// creating nothing. Its points are listed (a random search's as drawn, with the
// seed that draws them again); the market is quoted for its first point (a sweep's
// points share their resources and image), and the most the whole sweep could be
// charged at the rate offered now is that point's times the number of jobs.
import { formatEther } from "viem";
import type { JobQuote } from "../../protocol/quote.ts";
import type { BatchJob, PondClient } from "../../sdk/index.ts";
import type { CliContext } from "../context.ts";
import { quotedInputFiles } from "../dataplane/jobInputs.ts";
import { describeQuote } from "../quoteSummary.ts";
import { quoteOf } from "../runRequests.ts";
import { terminalText } from "../terminalText.ts";
import { describePoint } from "./grid.ts";
import { planImageJobs, planTemplateJobs, type SweepAsked } from "./sweepPlan.ts";

export interface SweepQuote {
  jobs: number;
  /** How its points were made ("3 lr × 2 hidden", "20 trials of …; seed 7"). */
  description: string;
  seed?: number;
  points: Array<Record<string, string>>;
  /** The market as the first point would meet it now. */
  quote: JobQuote;
  /** The most the whole sweep could be charged at the rate offered now (each job its whole timeout); null when its jobs would wait. */
  max_cost_wei: string | null;
  /** What is free in the escrow, where jobs are paid from it. */
  escrow_free_wei?: string;
}

export async function quoteSweep(c: CliContext, sdk: PondClient, sweep: SweepAsked): Promise<void> {
  const { args, options, given, points, description, seed } = sweep;
  const jobFiles = await quotedInputFiles(sdk, options.input);
  const planned = options.image ? planImageJobs(args, options, points, jobFiles, "quote") : await planTemplateJobs(sdk, args, options, points, jobFiles, given, "quote");
  const quote = await sdk.quoteJob(quoteOf(requestOf(planned[0]!.job({}))));
  const chain = await sdk.chain();
  const free = chain.settles_on_chain ? (await sdk.account()).escrow.available_wei : undefined;
  const result: SweepQuote = {
    jobs: planned.length,
    description,
    ...(seed !== undefined ? { seed } : {}),
    points: planned.map((job) => Object.fromEntries(job.point)),
    quote,
    max_cost_wei: quote.max_cost_wei === null ? null : (BigInt(quote.max_cost_wei) * BigInt(planned.length)).toString(),
    ...(free !== undefined ? { escrow_free_wei: free } : {}),
  };
  c.output.result(result, (answer) => describeSweepQuote(answer, options.image ?? args[0] ?? "the sweep", options.seed !== undefined));
}

/** The create request a planned job would send. */
const requestOf = (job: BatchJob) => ("request" in job ? job.request : { template: job.template, ...job.choices });

/** `seedGiven`: the points were drawn from --seed, which the person has already; else the seed drawn is said. */
export function describeSweepQuote(answer: SweepQuote, what: string, seedGiven = false): string[] {
  const [first, ...market] = describeQuote(answer.quote, terminalText(what));
  const lines = [`${first!.replace(": nothing created", "")}: a sweep of ${answer.jobs} jobs (${answer.description}), nothing created`];
  lines.push(...answer.points.map((point, i) => `  ${String(i + 1).padStart(3)}  ${terminalText(describePoint(Object.entries(point)))}`));
  lines.push("  each job, as its first point would meet the market now:", ...market.map((line) => `  ${line}`));
  const free = answer.escrow_free_wei === undefined ? "" : `; your escrow has ${formatEther(BigInt(answer.escrow_free_wei))} ETH free`;
  if (answer.max_cost_wei !== null) lines.push(`  together: at most ${formatEther(BigInt(answer.max_cost_wei))} ETH at the rate offered now, if every job ran its whole timeout${free}`);
  else if (free) lines.push(`  together: no provider would take them at once, so what they cost depends on who does${free}`);
  if (answer.seed !== undefined && !seedGiven) lines.push(`  run it with --seed ${answer.seed} to draw these points`);
  return lines;
}
