// Where a job's output files come from: peer to peer from the provider while it
// still keeps them, else Pond's storage (R2) through the API with the creator's
// key, which always has them. Either way the page checks every file's sha256
// against the signed manifest before it saves it (verifiedDownload.ts).
import type { Job } from "../../protocol/job.ts";
import type { ManifestFile } from "../../protocol/manifest.ts";
import { apiRequest } from "../api/http.ts";
import { fetchOutputsFromProvider, type PeerOutputs } from "./peerOutputs.ts";

export interface FetchedFile {
  blob: Blob;
  /** Said beside the download, e.g. "peer to peer from the provider (direct)". */
  via: string;
}

export interface OutputSource {
  fetchFile(job: Job, file: ManifestFile, signal?: AbortSignal): Promise<FetchedFile>;
}

export const storedOutputs: OutputSource = {
  async fetchFile(job, file, signal) {
    const path = file.path.split("/").map(encodeURIComponent).join("/");
    const response = await apiRequest(`/v1/jobs/${encodeURIComponent(job.id)}/outputs/${path}`, { auth: true, headers: { accept: "application/octet-stream" }, ...(signal ? { signal } : {}) });
    return { blob: await response.blob(), via: "from Pond's storage" };
  },
};

/** One peer session per job, shared by its files' downloads; a failed one is forgotten, so the next click tries again. */
const sessions = new Map<string, Promise<PeerOutputs>>();

export const peerFirstOutputs: OutputSource = {
  async fetchFile(job, file, signal) {
    let session = sessions.get(job.id);
    if (!session) {
      session = fetchOutputsFromProvider(job);
      sessions.set(job.id, session);
      session.catch(() => sessions.delete(job.id));
    }
    try {
      const outputs = await session;
      const blob = outputs.files.get(file.path);
      if (blob) return { blob, via: `peer to peer from the provider (${outputs.route})` };
    } catch (error) {
      const stored = await storedOutputs.fetchFile(job, file, signal);
      return { ...stored, via: `${stored.via}: the provider could not be reached peer to peer (${(error as Error).message})` };
    }
    return storedOutputs.fetchFile(job, file, signal);
  },
};

export function outputSourceFor(_job: Job): OutputSource {
  return peerFirstOutputs;
}
