// A sweep's --input files from this machine: hashed once and named alike in every
// job's spec, then served peer to peer to each job's provider while the sweep is
// waited for, through one pool of transfer processes (a provider that holds them
// in its input cache takes nothing). A provider that cannot connect asks for the
// relay, as a single run's would. Each provider's transfer is a process of its
// own, as for a single run: a sweep whose jobs all start at once on as many
// providers sends from as many processes.
import { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import type { ResolvedInputFile } from "../../protocol/jobSpec.ts";
import type { PondClient } from "../../sdk/index.ts";
import type { P2pSettings } from "../context.ts";
import { CreatorInputs } from "../dataplane/creatorInputs.ts";
import { collectInputs, type LocalInputs } from "../dataplane/inputFiles.ts";
import type { Progress } from "../progress.ts";

/** Many transfers at once would fight over one progress line: each says when it is done instead. */
const quiet: Progress = { update: () => undefined, finish: () => undefined };

export class SweepInputs {
  private readonly serving: CreatorInputs[] = [];
  /** Made at the first job served, so a sweep refused while planning starts no process. */
  private processes: SpareTransferProcesses | undefined;

  private constructor(
    private readonly inputs: LocalInputs,
    private readonly note: (text: string) => void,
  ) {}

  static async collect(paths: readonly string[], note: (text: string) => void): Promise<SweepInputs> {
    note(`[pond: hashing ${paths.length} input${paths.length === 1 ? "" : "s"}]`);
    return new SweepInputs(await collectInputs(paths), note);
  }

  get specFiles(): ResolvedInputFile[] {
    return this.inputs.specFiles;
  }

  /** Answers `jobId`'s provider from now on. */
  async serve(sdk: PondClient, jobId: string, p2p: P2pSettings): Promise<void> {
    this.processes ??= new SpareTransferProcesses({ refill: true });
    const sending = new CreatorInputs(sdk, this.inputs, jobId, quiet, (text) => this.note(text.replace("[pond: ", `[pond: ${jobId}: `)), { processes: this.processes });
    this.serving.push(sending);
    await sending.serve(p2p);
  }

  /** Stops serving, once every upload a provider asked for is through; then the files are closed. */
  async finish(): Promise<void> {
    await Promise.all(this.serving.map((sending) => sending.finish()));
    this.processes?.close();
    await this.inputs.source.close();
  }
}
