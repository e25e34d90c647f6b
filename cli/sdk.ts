// The TypeScript SDK for Pond's API. The CLI is built on it, and so are the
// end-to-end tests: one client, parsed with the same protocol schemas the server uses.
import { toHex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { z } from "zod";
import { AccountInfo, ChainInfo, CreatedApiKey, SiweNonce } from "../protocol/account.ts";
import { Job, JobPage } from "../protocol/job.ts";
import { jobAuthorizationTypes, specHashOf } from "../protocol/eip712.ts";
import { JobSpec, type CreateJobRequest } from "../protocol/jobSpec.ts";
import { jobLimits } from "../protocol/limits.ts";
import { isTerminal } from "../protocol/jobStatus.ts";
import { Problem } from "../protocol/problem.ts";

export class PondApiError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.title} (${problem.status}): ${problem.detail}`);
    this.name = "PondApiError";
  }
  get status(): number {
    return this.problem.status;
  }
}

/** The EIP-4361 message for the fields the server issued, signed by the wallet. */
export async function signSiwe(account: PrivateKeyAccount, fields: SiweNonce, overrides: Partial<Parameters<typeof createSiweMessage>[0]> = {}) {
  const message = createSiweMessage({
    address: account.address,
    chainId: fields.chain_id,
    domain: fields.domain,
    nonce: fields.nonce,
    uri: fields.uri,
    version: "1",
    statement: fields.statement,
    ...overrides,
  });
  return { message, signature: await account.signMessage({ message }) };
}
/** Past the server's own margin (worker/chain/authorization.ts), for clock skew and the trip to the API. */
const AUTHORIZATION_MARGIN_S = 600;

export interface PondClientOptions {
  baseUrl: string;
  apiKey?: string;
  fetch?: typeof fetch;
}

export class PondClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  apiKey: string | undefined;

  constructor(options: PondClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, "");
    this.fetchImpl = options.fetch ?? fetch;
    this.apiKey = options.apiKey;
  }

  /** Signs in with a wallet (SIWE) and keeps the new API key on this client. */
  async signIn(account: PrivateKeyAccount): Promise<{ id: string; key: string; address: string }> {
    const fields = SiweNonce.parse(await this.request("POST", "/v1/auth/nonce"));
    const created = CreatedApiKey.parse(await this.request("POST", "/v1/auth/keys", await signSiwe(account, fields)));
    this.apiKey = created.key;
    return created;
  }

  async createJob(request: CreateJobRequest, options: { idempotencyKey?: string; waitS?: number } = {}): Promise<Job> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
    if (options.waitS) headers.prefer = `wait=${options.waitS}`;
    return Job.parse(await this.request("POST", "/v1/jobs", request, headers));
  }

  /** The chain jobs settle on, and the EIP-712 domain authorizations are signed under. */
  async chain(): Promise<ChainInfo> {
    return ChainInfo.parse(await this.request("GET", "/v1/chain"));
  }

  /**
   * Creates a job, signing its JobAuthorization with the creator's wallet when
   * the API settles on chain (a fresh random job key; a deadline leaving room
   * to match, run and report it).
   */
  async createPaidJob(request: CreateJobRequest, wallet: PrivateKeyAccount, options: { idempotencyKey?: string; waitS?: number } = {}): Promise<Job> {
    const chain = await this.chain();
    if (!chain.settles_on_chain) return this.createJob(request, options);
    const { webhook: _webhook, webhook_events_filter: _filter, authorization: _authorization, ...spec } = request;
    const deadline = Math.ceil(Date.now() / 1000) + (spec.match_timeout_s ?? jobLimits.defaultMatchTimeoutS) + spec.timeout_s + AUTHORIZATION_MARGIN_S;
    const jobKey = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const signature = await wallet.signTypedData({
      domain: { ...chain.eip712_domain, verifyingContract: chain.eip712_domain.verifyingContract as `0x${string}` },
      types: jobAuthorizationTypes,
      primaryType: "JobAuthorization",
      message: { jobId: jobKey, specHash: specHashOf(JobSpec.parse(spec)), maxPrice: BigInt(spec.max_price_wei), deadline: BigInt(deadline) },
    });
    return this.createJob({ ...request, authorization: { job_key: jobKey, deadline, signature } }, options);
  }

  async account(): Promise<AccountInfo> {
    return AccountInfo.parse(await this.request("GET", "/v1/account"));
  }

  async getJob(id: string): Promise<Job> {
    return Job.parse(await this.request("GET", `/v1/jobs/${encodeURIComponent(id)}`));
  }

  async listJobs(query: { status?: string; limit?: number; cursor?: string } = {}): Promise<z.infer<typeof JobPage>> {
    const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return JobPage.parse(await this.request("GET", `/v1/jobs${params.size ? `?${params}` : ""}`));
  }

  async cancelJob(id: string): Promise<Job> {
    return Job.parse(await this.request("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`));
  }

  /** Polls until the job is terminal (or `predicate` holds), with a deadline. */
  async waitForJob(id: string, options: { timeoutMs?: number; intervalMs?: number; until?: (job: Job) => boolean } = {}): Promise<Job> {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    const until = options.until ?? ((job: Job) => isTerminal(job.status));
    for (;;) {
      const job = await this.getJob(id);
      if (until(job)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.status} after ${options.timeoutMs ?? 120_000} ms`);
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
    }
  }

  async downloadOutput(id: string, path: string): Promise<Uint8Array> {
    const response = await this.raw("GET", `/v1/jobs/${encodeURIComponent(id)}/outputs/${path.split("/").map(encodeURIComponent).join("/")}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** The job's log as server-sent events, parsed: yields {event, data} until the stream ends. */
  async *streamLogs(id: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: unknown }> {
    const response = await this.raw("GET", `/v1/jobs/${encodeURIComponent(id)}/logs`, undefined, {}, signal);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let boundary: number;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1] ?? "message";
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        yield { event, data: data === undefined ? undefined : JSON.parse(data) };
      }
    }
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    const response = await this.raw(method, path, body, headers);
    return response.status === 204 ? undefined : response.json();
  }

  async raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) {
      const text = await response.text();
      const problem = Problem.safeParse(safeJson(text));
      throw new PondApiError(
        problem.success ? problem.data : { type: "about:blank", title: response.statusText || "Error", status: response.status, detail: text.slice(0, 500) },
      );
    }
    return response;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
