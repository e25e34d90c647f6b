// Where a job's output files come from. Today: Pond's storage (R2), through the
// API with the creator's key. The peer-to-peer source of the data-plane issue
// (a WebRTC channel straight from the provider) implements the same interface
// and is chosen in outputSourceFor; nothing else on the page changes.
import type { Job } from "../../protocol/job.ts";
import type { ManifestFile } from "../../protocol/manifest.ts";
import { apiRequest } from "../api/http.ts";

export interface OutputSource {
  /** Said beside the download, e.g. "from Pond's storage". */
  readonly label: string;
  fetchFile(job: Job, file: ManifestFile, signal?: AbortSignal): Promise<Blob>;
}

export const storedOutputs: OutputSource = {
  label: "from Pond's storage",
  async fetchFile(job, file, signal) {
    const path = file.path.split("/").map(encodeURIComponent).join("/");
    const response = await apiRequest(`/v1/jobs/${encodeURIComponent(job.id)}/outputs/${path}`, { auth: true, headers: { accept: "application/octet-stream" }, ...(signal ? { signal } : {}) });
    return response.blob();
  },
};

export function outputSourceFor(_job: Job): OutputSource {
  return storedOutputs;
}
