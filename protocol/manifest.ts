import { z } from "zod";
import { RelativePath } from "./jobSpec.ts";
import { MAX_OUTPUT_FILES } from "./limits.ts";

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be a lower-case hex sha256");

export const ManifestFile = z.object({
  path: RelativePath,
  size: z.int().min(0),
  sha256: Sha256Hex,
});
export type ManifestFile = z.infer<typeof ManifestFile>;

export const OutputManifest = z
  .object({
    files: z.array(ManifestFile).max(MAX_OUTPUT_FILES),
    result_hash: z.string().regex(/^0x[0-9a-f]{64}$/),
  })
  .meta({ id: "OutputManifest" });
export type OutputManifest = z.infer<typeof OutputManifest>;

/**
 * The result hash commits to every output file: sha256 over the files sorted by
 * path, one line each of `path NUL size NUL sha256 LF`. Both sides compute it,
 * so neither trusts the other's `result_hash` field.
 */
export async function computeResultHash(files: readonly ManifestFile[]): Promise<`0x${string}`> {
  const lines = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((file) => `${file.path}\0${file.size}\0${file.sha256}\n`)
    .join("");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(lines));
  return `0x${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function buildManifest(files: readonly ManifestFile[]): Promise<OutputManifest> {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files: sorted, result_hash: await computeResultHash(sorted) };
}
