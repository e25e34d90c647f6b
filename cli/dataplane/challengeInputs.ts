// `pond challenge <job> --input PATH …`: a challenger who still has the job's
// input files stays to serve them to the drawn mediator. The mediator asks the
// provider that ran the job first (it keeps them until the settlement is final);
// when that provider does not answer it asks here, peer to peer, and, if no
// connection comes up, for the relay (uploaded from here then). The challenger
// is online by definition: it has just sent the challenge.
import type { Job } from "../../protocol/job.ts";
import { creatorInputFiles } from "../../protocol/jobSpec.ts";
import { inputsNoLongerNeeded } from "../../protocol/jobStatus.ts";
import type { PondClient } from "../../sdk/index.ts";
import type { P2pSettings } from "../context.ts";
import { UsageError } from "../errors.ts";
import type { Progress } from "../progress.ts";
import { CreatorInputs } from "./creatorInputs.ts";
import { collectInputs, type LocalInputs } from "./inputFiles.ts";

/** How often the job is read while the challenge waits for its mediator. */
const SETTLEMENT_POLL_MS = 5_000;

/** The job's input files from `paths`, refused unless they are exactly the spec's (same paths, sizes and sha256). */
export async function inputsForChallenge(job: Job, paths: readonly string[]): Promise<LocalInputs> {
  // Only the files the creator sent: those from another job's outputs, a mediator fetches from R2 itself.
  const signed = creatorInputFiles(job.spec.input_files);
  if (signed.length === 0) throw new UsageError(`job ${job.id} has no input files of yours: drop --input`);
  const inputs = await collectInputs(paths);
  const want = new Map(signed.map((file) => [file.path, file]));
  const problems: string[] = [];
  for (const file of inputs.specFiles) {
    const expected = want.get(file.path);
    if (!expected) problems.push(`"${file.path}" is not one of the job's input files`);
    else if (expected.sha256 !== file.sha256 || expected.size !== file.size) problems.push(`"${file.path}" is not the file the job ran with (its size or sha256 differs)`);
    want.delete(file.path);
  }
  for (const path of want.keys()) problems.push(`"${path}" is missing`);
  if (problems.length > 0) {
    await inputs.source.close();
    throw new UsageError(`--input must give the job's input files as \`pond run\` sent them: ${problems.slice(0, 5).join("; ")}`);
  }
  return inputs;
}

export interface ServeForChallengeOptions {
  sdk: PondClient;
  p2p: P2pSettings;
  inputs: LocalInputs;
  jobId: string;
  progress: Progress;
  note(text: string): void;
  pollMs?: number;
}

/** Serves the inputs until the job's settlement is final (the challenge resolved); the job as it then stands. */
export async function serveInputsUntilResolved(options: ServeForChallengeOptions): Promise<Job> {
  const { sdk, jobId, note } = options;
  const sending = new CreatorInputs(sdk, options.inputs, jobId, options.progress, note);
  note("[pond: serving the inputs to the mediator until the challenge is resolved]");
  await sending.serve(options.p2p);
  try {
    for (;;) {
      const job = await sdk.getJob(jobId);
      // Until the challenge is indexed the settlement still reads "pending": what ends the wait is a final one.
      if (inputsNoLongerNeeded(job)) return job;
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? SETTLEMENT_POLL_MS));
    }
  } finally {
    await sending.finish();
  }
}
