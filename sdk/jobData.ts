// A job's data through the API (browser-safe): STUN/TURN servers for a peer
// connection, the R2 relay of its input files (manifest, chunks keyed by
// sha256, which are still missing), and the report of an outputs download
// done from R2, for the job's metrics.transfer.
import { IceServer } from "../protocol/iceServers.ts";
import type { TransferManifest } from "../protocol/transfer.ts";
import { z } from "zod";
import { PondApiError, problemFrom } from "./errors.ts";

const IceAnswer = z.object({ ice_servers: z.array(IceServer), expires_at: z.int() });
const MissingAnswer = z.object({ missing: z.array(z.string()) });

export interface JobDataTransport {
  baseUrl: string;
  apiKey: string | undefined;
  fetch: typeof fetch;
}

export class JobDataApi {
  constructor(private readonly transport: () => JobDataTransport) {}

  async iceServers(): Promise<z.infer<typeof IceAnswer>> {
    return IceAnswer.parse(await (await this.send("GET", "/v1/ice-servers")).json());
  }

  async uploadInputManifest(jobId: string, manifest: TransferManifest): Promise<void> {
    await this.send("PUT", `/v1/jobs/${encodeURIComponent(jobId)}/data/inputs`, JSON.stringify(manifest), "application/json");
  }

  async uploadInputChunk(jobId: string, sha256: string, bytes: Uint8Array): Promise<void> {
    await this.send("PUT", `/v1/jobs/${encodeURIComponent(jobId)}/data/chunks/${sha256}`, bytes as Uint8Array<ArrayBuffer>, "application/octet-stream");
  }

  /** Which of `sha256s` the relay does not hold yet (any number: asked in batches). */
  async missingInputChunks(jobId: string, sha256s: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    const unique = [...new Set(sha256s)];
    for (let i = 0; i < unique.length; i += 1024) {
      const response = await this.send("POST", `/v1/jobs/${encodeURIComponent(jobId)}/data/chunks/missing`, JSON.stringify({ sha256s: unique.slice(i, i + 1024) }), "application/json");
      missing.push(...MissingAnswer.parse(await response.json()).missing);
    }
    return missing;
  }

  async reportOutputsDownload(jobId: string, transfer: { bytes: number; ms: number }): Promise<void> {
    await this.send("POST", `/v1/jobs/${encodeURIComponent(jobId)}/data/outputs-download`, JSON.stringify(transfer), "application/json");
  }

  private async send(method: string, path: string, body?: BodyInit, contentType?: string): Promise<Response> {
    const { baseUrl, apiKey, fetch } = this.transport();
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...(contentType ? { "content-type": contentType } : {}), ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    if (!response.ok) throw new PondApiError(problemFrom(response, await response.text()));
    return response;
  }
}
