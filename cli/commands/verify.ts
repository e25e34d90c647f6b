// `pond verify <a-dir> <b-dir>`: compare two runs' outputs the way a challenge
// of the job would (protocol/outputComparison.ts), so a creator can see, before
// posting a bond, whether a re-run's outputs would count as the same.
import { readFile, stat } from "node:fs/promises";
import type { Command } from "commander";
import { compareOutputs, describeFileComparison, summarizeComparison, type OutputComparison, type OutputSet } from "../../protocol/outputComparison.ts";
import { VerifySpec } from "../../protocol/verification.ts";
import { OutputFolderError, outputSetOf } from "../../p2p/node/outputSet.ts";
import type { CliContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { exitCodes } from "../exitCodes.ts";

interface VerifyOptions {
  spec?: string;
  job?: string;
}

/** The declared comparison and whose it is, for the summary line ("under the job's tolerant comparison"). */
interface Declared {
  verify: VerifySpec | undefined;
  whose?: string;
}

export function registerVerify(program: Command, ctx: () => CliContext): void {
  program
    .command("verify")
    .argument("<a-dir>", "one run's outputs, as a folder")
    .argument("<b-dir>", "the other run's outputs")
    .option("--spec <file>", "compare as this file's `verify` declares: a job spec, a template definition, a job as `pond jobs get --json` prints it, or a bare verify object")
    .option("--job <id>", "compare as this job's spec declares")
    .description("compare two folders of outputs as a challenge would: by the job's declared comparison, else byte for byte; exits 1 when they differ")
    .action(async (aDir: string, bDir: string, options: VerifyOptions) => {
      const c = ctx();
      if (options.spec !== undefined && options.job !== undefined) throw new UsageError("give --spec or --job, not both");
      const declared: Declared = options.spec
        ? await declaredInFile(options.spec)
        : options.job
          ? { verify: (await (await c.client()).getJob(options.job)).spec.verify, whose: "the job's" }
          : { verify: undefined };
      const [a, b] = [await folderSet(aDir), await folderSet(bDir)];
      const comparison = await compareOutputs(declared.verify, a, b);
      const summary = summarizeComparison(comparison, declared.whose);
      c.output.result({ ...comparison, summary }, () => linesOf(comparison, summary));
      if (!comparison.agree) process.exitCode = exitCodes.outputsDiffer;
    });
}

function linesOf(comparison: OutputComparison, summary: string): string[] {
  return [
    ...comparison.files.map(describeFileComparison),
    ...comparison.only_in_a.map((path) => `${path}: only in a`),
    ...comparison.only_in_b.map((path) => `${path}: only in b`),
    summary,
  ];
}

async function folderSet(dir: string): Promise<OutputSet> {
  const found = await stat(dir).catch(() => undefined);
  if (!found) throw new UsageError(`there is no folder ${dir}: give two folders of outputs (pond jobs download <id> --output <dir> fetches a job's)`);
  if (!found.isDirectory()) throw new UsageError(`${dir} is not a folder: give two folders of outputs`);
  try {
    return await outputSetOf(dir);
  } catch (error) {
    if (error instanceof OutputFolderError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * The `verify` a file declares. Only that part is checked: the rest of a spec
 * or a template is the API's to judge when it is sent. A spec without `verify`
 * declares the default, exact.
 */
async function declaredInFile(file: string): Promise<Declared> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read --spec ${file} as JSON: ${(error as Error).message}`);
  }
  const whose = `${file}'s`;
  const object = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
  if (!object(raw)) throw new UsageError(`--spec ${file} must hold a JSON object: a job spec, a template definition or a verify object ({"mode": …})`);
  if ("mode" in raw) return { verify: parsed(raw, [], file), whose };
  if ("verify" in raw) return { verify: raw.verify === null ? undefined : parsed(raw.verify, ["verify"], file), whose };
  // A job as the API shows it (pond jobs get --json): its spec holds the declaration.
  if (object(raw.spec)) return { verify: raw.spec.verify == null ? undefined : parsed(raw.spec.verify, ["spec", "verify"], file), whose };
  if ("image" in raw) return { verify: undefined, whose };
  throw new UsageError(`--spec ${file} is not a job spec, a template definition or a verify object: none of "verify", "mode" or "image" is in it`);
}

function parsed(value: unknown, at: readonly string[], file: string): VerifySpec {
  const result = VerifySpec.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `  ${[...at, ...issue.path].join(".") || "(the file)"}: ${issue.message}`);
  throw new UsageError(`--spec ${file} does not declare a valid comparison; fix:\n${issues.join("\n")}`);
}
