// A download the creator can trust: the file's bytes are hashed in the browser
// and must match the sha256 in the job's manifest before they are saved.
import type { Job } from "../../protocol/job.ts";
import type { ManifestFile } from "../../protocol/manifest.ts";
import { blobSha256 } from "./blobSha256.ts";
import type { OutputSource } from "./outputSource.ts";


export class ChecksumMismatch extends Error {
  override name = "ChecksumMismatch";
}

/** Fetches, checks and saves one file; says where it came from. */
export async function downloadVerified(source: OutputSource, job: Job, file: ManifestFile): Promise<string> {
  const { blob, via } = await source.fetchFile(job, file);
  const actual = await blobSha256(blob);
  if (actual !== file.sha256) throw new ChecksumMismatch(`${file.path} arrived with sha256 ${actual}, not the manifest's ${file.sha256}: not saved`);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = file.path.split("/").pop() ?? "output";
  document.body.append(link);
  link.click();
  link.remove();
  // The click has started the download; the URL can go once the browser has it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return via;
}
