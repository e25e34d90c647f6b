// A mediator's judgement of a tolerant job (protocol/verification.ts): the
// provider's outputs, as it delivered them when it reported (the hub checked each
// file's size and sha256 in the relay then), compared with this daemon's re-run
// under the spec's declared comparison (protocol/outputComparison.ts). Only the
// files a rule reads are fetched; the rest are compared by the sha256 the
// provider signed. Outputs the provider cannot deliver lose it the challenge; a
// failure on the mediator's side (the API unreachable, this daemon refused)
// decides nothing, so the challenge voids rather than punish anyone for it.
import { readFile } from "node:fs/promises";
import { computeResultHash, type ManifestFile, type OutputManifest } from "../../protocol/manifest.ts";
import { compareOutputs, describeFileComparison, summarizeComparison, type OutputComparison } from "../../protocol/outputComparison.ts";
import type { VerifySpec } from "../../protocol/verification.ts";
import { pathInside } from "../../p2p/node/storagePath.ts";
import { InputsError } from "../dataplane/relayFetch.ts";

export type Judgement = { decided: true; upheld: boolean; detail: string } | { decided: false; why: string };

export interface TolerantJudgeInput {
  verify: VerifySpec;
  /** The provider's signed manifest, as the hub kept it. */
  providerOutputs: OutputManifest;
  rerunDir: string;
  rerunFiles: readonly ManifestFile[];
  /** Where the provider's files are fetched to. */
  scratchDir: string;
  /** Fetches the provider's files into `dir`, each checked against its manifest entry. */
  fetchProviderFiles(files: readonly ManifestFile[], dir: string): Promise<void>;
}

export async function judgeTolerant(input: TolerantJudgeInput): Promise<Judgement> {
  const { providerOutputs } = input;
  // The hub checked this when it accepted the result; a manifest that does not hash to its claim is not the one the provider signed.
  if ((await computeResultHash(providerOutputs.files)) !== providerOutputs.result_hash) return { decided: false, why: "the provider's manifest as the hub sent it does not hash to its result hash" };
  const byPath = new Map(providerOutputs.files.map((file) => [file.path, file]));
  const provider = {
    files: providerOutputs.files,
    async read(path: string): Promise<Uint8Array> {
      const file = byPath.get(path);
      if (!file) throw new Error(`the provider's manifest has no ${path}`);
      await input.fetchProviderFiles([file], input.scratchDir);
      return readFile(pathInside(input.scratchDir, path));
    },
  };
  const rerun = { files: input.rerunFiles, read: (path: string) => readFile(pathInside(input.rerunDir, path)) };
  let comparison: OutputComparison;
  try {
    comparison = await compareOutputs(input.verify, provider, rerun);
  } catch (error) {
    if (providerFailedToDeliver(error)) return { decided: true, upheld: false, detail: `the provider's outputs could not be had as it signed them: ${(error as Error).message}` };
    return { decided: false, why: `the provider's outputs could not be compared: ${(error as Error).message}` };
  }
  return { decided: true, upheld: comparison.agree, detail: summarize(comparison) };
}

/** Not there (404), or not the bytes the provider signed: the provider's failure. A refusal of this reader (401, 403) is not. */
function providerFailedToDeliver(error: unknown): boolean {
  return error instanceof InputsError && (error.httpStatus === undefined || error.httpStatus === 404 || error.httpStatus === 416);
}

/** The summary, and the files that differ (at most three), for the verdict's record. */
function summarize(comparison: OutputComparison): string {
  const differing = comparison.files.filter((file) => !file.ok).slice(0, 3).map(describeFileComparison);
  return [summarizeComparison(comparison, "the job's"), ...differing].join("; ");
}
