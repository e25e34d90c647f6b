// Pond's TypeScript SDK, for Node and browsers. Requests are typed by the
// OpenAPI document of the Worker's own routes (generated/openapi.ts, kept in
// step by a test); responses are checked with the same protocol schemas the
// server validates with. The CLI is built on it.
import createClient, { type Client } from "openapi-fetch";
import { forEachInPool } from "../p2p/core/pool.ts";
import type { MessageSigner } from "./siwe.ts";
import { AccountInfo, ChainInfo, CreatedApiKey, SiweNonce } from "../protocol/account.ts";
import { Job, JobBatch, JobPage } from "../protocol/job.ts";
import { ProviderProfile } from "../protocol/network.ts";
import { JobSpec, specOfRequest, type CreateJobRequest, type CreateTemplateJobRequest, type InputFile } from "../protocol/jobSpec.ts";
import { isTerminal } from "../protocol/jobStatus.ts";
import { MAX_BODY_BYTES } from "../protocol/limits.ts";
import { JobQuote } from "../protocol/quote.ts";
import { ReportedMetrics } from "../protocol/reportedMetrics.ts";
import type { StopEarly } from "../protocol/stopEarly.ts";
import { ResolvedTemplate, Template, TemplatePage, type TemplateDefinitionInput } from "../protocol/template.ts";
import { signJobAuthorization, type TypedDataSigner } from "./authorization.ts";
import { PondApiError, problemFrom, StopEarlyIgnoredError } from "./errors.ts";
import { isInputSourceMismatch, pinInputSources, type PinnedInputs } from "./inputSources.ts";
import { readEventStream, type ServerEvent } from "./events.ts";
import type { paths } from "./generated/openapi.ts";
import { signSiwe } from "./siwe.ts";
import { JobDataApi } from "./jobData.ts";
import { WebhookApi } from "./webhooks.ts";

export interface PondClientOptions {
  baseUrl: string;
  apiKey?: string;
  fetch?: typeof fetch;
}

export interface CreateOptions {
  idempotencyKey?: string;
  /** Hold the request until the job ends, up to this many seconds (≤ 60). */
  waitS?: number;
}

export type TemplateRunChoices = Omit<CreateTemplateJobRequest, "template" | "authorization">;

export interface BatchOptions extends Pick<CreateOptions, "idempotencyKey"> {
  /** Early stopping for the batch (a sweep): the API cancels the runs the median stopping rule stops, as they report. */
  stopEarly?: StopEarly;
}

/** One job of createPaidJobs: a spec's request, or a template run (a ref such as `owner/name@1.0.0`, and its choices). */
export type BatchJob = { request: CreateJobRequest } | { template: string; choices: TemplateRunChoices };

/** Template runs resolved at once while a batch is signed. */
const RESOLVES_AT_ONCE = 8;

/** An API refusal met while job `i` of a batch was made ready (its template's resolve), said as the batch would say it. */
function batchPlaced(error: PondApiError, i: number): PondApiError {
  const { problem } = error;
  const errors = problem.errors?.length ? problem.errors.map((field) => ({ ...field, path: `jobs.${i}.${field.path}` })) : [{ path: `jobs.${i}`, message: problem.detail }];
  return new PondApiError({ ...problem, detail: `jobs.${i}: ${problem.detail}`, errors });
}

/** openapi-fetch's answer: the body when it succeeded, else the problem it carried. */
type Answer<T> = { data?: T; error?: unknown; response: Response };

export class PondClient {
  readonly baseUrl: string;
  readonly api: Client<paths>;
  readonly webhooks: WebhookApi;
  /** A job's data: ICE servers, the input relay, outputs download reports. */
  readonly data: JobDataApi;
  apiKey: string | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(options: PondClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, "");
    this.apiKey = options.apiKey;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.api = createClient<paths>({ baseUrl: this.baseUrl, fetch: (request) => this.fetchImpl(request) });
    this.api.use({
      onRequest: ({ request }) => {
        if (this.apiKey) request.headers.set("authorization", `Bearer ${this.apiKey}`);
        return request;
      },
    });
    this.webhooks = new WebhookApi(this.api, (answer) => this.unwrap(answer));
    this.data = new JobDataApi(() => ({ baseUrl: this.baseUrl, apiKey: this.apiKey, fetch: this.fetchImpl }));
  }

  // ---- signing in ----

  /** Signs in with a wallet (SIWE) and keeps the new API key on this client. */
  async signIn(wallet: MessageSigner): Promise<{ id: string; key: string; address: string }> {
    const fields = SiweNonce.parse(await this.unwrap(await this.api.POST("/v1/auth/nonce")));
    const created = CreatedApiKey.parse(await this.unwrap(await this.api.POST("/v1/auth/keys", { body: await signSiwe(wallet, fields) })));
    this.apiKey = created.key;
    return created;
  }

  async listKeys() {
    return this.unwrap(await this.api.GET("/v1/auth/keys"));
  }

  async revokeKey(id: string): Promise<void> {
    await this.unwrap(await this.api.DELETE("/v1/auth/keys/{id}", { params: { path: { id } } }));
  }

  // ---- the chain and the escrow ----

  /** The chain jobs settle on, and the EIP-712 domain authorizations are signed under. */
  async chain(): Promise<ChainInfo> {
    return ChainInfo.parse(await this.unwrap(await this.api.GET("/v1/chain")));
  }

  async account(): Promise<AccountInfo> {
    return AccountInfo.parse(await this.unwrap(await this.api.GET("/v1/account")));
  }

  // ---- jobs ----

  async createJob(request: CreateJobRequest | CreateTemplateJobRequest, options: CreateOptions = {}): Promise<Job> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
    if (options.waitS) headers.prefer = `wait=${options.waitS}`;
    return Job.parse(await this.unwrap(await this.api.POST("/v1/jobs", { body: request, headers })));
  }

  /**
   * Creates up to 100 jobs as one (POST /v1/jobs/batch): all of them, in the order given, or none when any is
   * refused (the problem names it, `jobs.N` in its `errors`). Paid jobs must fit the escrow together. With
   * `stopEarly`, an API that did not take it throws StopEarlyIgnoredError, which holds the jobs it created.
   */
  async createJobs(requests: Array<CreateJobRequest | CreateTemplateJobRequest>, options: BatchOptions = {}): Promise<Job[]> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
    const body = { jobs: requests, ...(options.stopEarly ? { stop_early: options.stopEarly } : {}) };
    const bytes = new TextEncoder().encode(JSON.stringify(body)).length;
    if (bytes > MAX_BODY_BYTES) {
      throw new RangeError(`these ${requests.length} jobs come to ${bytes} bytes together, more than the ${MAX_BODY_BYTES} the API takes in one request: create fewer at once, or give each fewer input files (pack them in one archive)`);
    }
    const batch = JobBatch.parse(await this.unwrap(await this.api.POST("/v1/jobs/batch", { body, headers })));
    // Created all the same: said, with the jobs, rather than passed over as if it would stop early.
    if (options.stopEarly && !batch.stop_early) throw new StopEarlyIgnoredError(batch.jobs);
    return batch.jobs;
  }

  /**
   * Creates a job, signing its JobAuthorization with the creator's wallet when the API settles on chain.
   * Input files that name a finished job's output get its size and sha256 first (sdk/inputSources.ts),
   * and the deadline covers the wait for those still under way.
   */
  async createPaidJob(request: CreateJobRequest, wallet: TypedDataSigner, options: CreateOptions = {}): Promise<Job> {
    return this.withPinnedInputs(() => this.pinned(request.input_files), async (pinned) => this.createJob(await this.signedRequest({ request }, pinned, wallet, await this.chain()), options));
  }

  /**
   * Runs a template version: the API resolves it into a spec first, which the
   * wallet signs when the API settles on chain; the job is then created from the
   * exact version resolved, so a newer `@latest` cannot slip in between.
   */
  async runTemplate(ref: string, choices: TemplateRunChoices, wallet: TypedDataSigner, options: CreateOptions = {}): Promise<Job> {
    return this.withPinnedInputs(() => this.pinned(choices.input_files), async (pinned) => this.createJob(await this.signedRequest({ template: ref, choices }, pinned, wallet, await this.chain()), options));
  }

  /**
   * Creates jobs as one, all or none (createJobs): each a spec, as createPaidJob takes it, or a template run, as
   * runTemplate does, signed by the wallet where the API settles on chain. Input files are pinned once for each list
   * of them the jobs share; template runs are resolved a few at a time.
   */
  async createPaidJobs(jobs: readonly BatchJob[], wallet: TypedDataSigner, options: BatchOptions = {}): Promise<Job[]> {
    const chain = await this.chain();
    const build = async () => {
      const pinnings = new Map<readonly InputFile[] | undefined, Promise<PinnedInputs>>();
      const pinned = (files: readonly InputFile[] | undefined) => pinnings.get(files) ?? pinnings.set(files, this.pinned(files)).get(files)!;
      const requests: Array<CreateJobRequest | CreateTemplateJobRequest> = new Array(jobs.length);
      let open = 0;
      await forEachInPool([...jobs.keys()], RESOLVES_AT_ONCE, async (i) => {
        const job = jobs[i]!;
        try {
          const pins = await pinned("request" in job ? job.request.input_files : job.choices.input_files);
          open += pins.open;
          requests[i] = await this.signedRequest(job, pins, wallet, chain);
        } catch (error) {
          // Named by its place, as the API names a job of the batch it refuses.
          throw error instanceof PondApiError ? batchPlaced(error, i) : error;
        }
      });
      return { requests, open };
    };
    return this.withPinnedInputs(build, ({ requests }) => this.createJobs(requests, options));
  }

  /** One job's create request, its input files pinned, a template run resolved, signed where the API settles on chain. */
  private async signedRequest(job: BatchJob, { files, waitS }: PinnedInputs, wallet: TypedDataSigner, chain: ChainInfo): Promise<CreateJobRequest | CreateTemplateJobRequest> {
    if ("request" in job) {
      const pinned: CreateJobRequest = { ...job.request, ...(files ? { input_files: files } : {}) };
      if (!chain.settles_on_chain) return pinned;
      return { ...pinned, authorization: await signJobAuthorization(wallet, chain, JobSpec.parse(specOfRequest(pinned)), { waitS }) };
    }
    const choices: TemplateRunChoices = { ...job.choices, ...(files ? { input_files: files } : {}) };
    const resolved = await this.resolveTemplate(job.template, { params: choices.params, max_price_wei: choices.max_price_wei, input_files: choices.input_files });
    return {
      ...choices,
      template: resolved.template,
      ...(chain.settles_on_chain ? { authorization: await signJobAuthorization(wallet, chain, resolved.spec, { waitS }) } : {}),
    };
  }

  /** Input files that name earlier jobs' outputs, pinned to what those jobs left (sdk/inputSources.ts). */
  private pinned(files: readonly InputFile[] | undefined): Promise<PinnedInputs> {
    return pinInputSources((id) => this.getJob(id), files);
  }

  /**
   * Creates with the input files `pin` pins (`open`: entries whose source had not finished); once more, pinned
   * again, if a source finished between this look and the API's (which then wants its exact bytes signed).
   */
  private async withPinnedInputs<P extends { open: number }, R>(pin: () => Promise<P>, create: (pinned: P) => Promise<R>): Promise<R> {
    const first = await pin();
    try {
      return await create(first);
    } catch (error) {
      if (first.open === 0 || !isInputSourceMismatch(error)) throw error;
      return create(await pin());
    }
  }

  async getJob(id: string): Promise<Job> {
    return Job.parse(await this.unwrap(await this.api.GET("/v1/jobs/{id}", { params: { path: { id } } })));
  }

  /** `label`: `key=value` filters, every one of which a listed job carries. */
  async listJobs(query: { status?: Job["status"]; label?: string[]; limit?: number; cursor?: string } = {}) {
    return JobPage.parse(await this.unwrap(await this.api.GET("/v1/jobs", { params: { query } })));
  }

  /** What a job (a spec, or a template run) would meet if created now: who could run it, their rates, whether one has room. Creates nothing. */
  async quoteJob(request: CreateJobRequest | CreateTemplateJobRequest): Promise<JobQuote> {
    return JobQuote.parse(await this.unwrap(await this.api.POST("/v1/jobs/quote", { body: request })));
  }

  /** `reason`, when given, is kept in the job's status_detail (`canceled by its creator: …`). */
  async cancelJob(id: string, reason?: string): Promise<Job> {
    return Job.parse(await this.unwrap(await this.api.POST("/v1/jobs/{id}/cancel", { params: { path: { id } }, ...(reason ? { body: { reason } } : {}) })));
  }

  /** The metrics a job reported in its output (`POND_METRICS {...}` lines), every point kept; `names`: only these. */
  async reportedMetrics(id: string, names?: readonly string[]): Promise<ReportedMetrics> {
    const query = names?.length ? { names: names.join(",") } : {};
    return ReportedMetrics.parse(await this.unwrap(await this.api.GET("/v1/jobs/{id}/reported-metrics", { params: { path: { id }, query } })));
  }

  async transitions(id: string) {
    return (await this.unwrap(await this.api.GET("/v1/jobs/{id}/transitions", { params: { path: { id } } }))).results;
  }

  /** Polls until the job is terminal (or `until` holds), with a deadline. */
  async waitForJob(id: string, options: { timeoutMs?: number; intervalMs?: number; until?: (job: Job) => boolean } = {}): Promise<Job> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    const until = options.until ?? ((job: Job) => isTerminal(job.status));
    for (;;) {
      const job = await this.getJob(id);
      if (until(job)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
    }
  }

  async downloadOutput(id: string, path: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.openOutput(id, path)).arrayBuffer());
  }

  /** One output file's response, its body still to be read: a file of many GB streams to disk instead of filling memory. */
  openOutput(id: string, path: string, signal?: AbortSignal): Promise<Response> {
    return this.raw("GET", `/v1/jobs/${encodeURIComponent(id)}/outputs/${path.split("/").map(encodeURIComponent).join("/")}`, undefined, {}, signal);
  }

  /**
   * The job's log as server-sent events (`log`, `status`, `done`, `cut`), until the stream ends.
   * With `lastEventId` (an event's `id`) it goes on after that event; a job that has ended with
   * nothing left to send after it yields nothing (the server answers 204).
   */
  async *streamLogs(id: string, options: { signal?: AbortSignal; lastEventId?: string } = {}): AsyncGenerator<ServerEvent> {
    const headers: Record<string, string> = options.lastEventId !== undefined ? { "last-event-id": options.lastEventId } : {};
    const response = await this.raw("GET", `/v1/jobs/${encodeURIComponent(id)}/logs`, undefined, headers, options.signal);
    if (response.status === 204 || !response.body) return;
    yield* readEventStream(response.body);
  }

  // ---- providers ----

  /** A provider's public record, as indexed: stake, reputation counters, jobs by outcome, earnings, capacity while online. */
  async providerProfile(address: string): Promise<ProviderProfile> {
    return ProviderProfile.parse(await this.unwrap(await this.api.GET("/v1/providers/{address}", { params: { path: { address } } })));
  }

  // ---- templates ----

  async publishTemplate(definition: TemplateDefinitionInput): Promise<Template> {
    return Template.parse(await this.unwrap(await this.api.POST("/v1/templates", { body: definition })));
  }

  async listTemplates(query: { q?: string; name?: string; owner?: string; limit?: number; cursor?: string } = {}) {
    return TemplatePage.parse(await this.unwrap(await this.api.GET("/v1/templates", { params: { query } })));
  }

  async getTemplate(ref: string): Promise<Template> {
    return Template.parse(await this.unwrap(await this.api.GET("/v1/templates/{owner}/{ref}", { params: { path: splitRef(ref) } })));
  }

  async resolveTemplate(ref: string, run: Pick<TemplateRunChoices, "params" | "max_price_wei" | "input_files"> = {}) {
    return ResolvedTemplate.parse(await this.unwrap(await this.api.POST("/v1/templates/{owner}/{ref}/resolve", { params: { path: splitRef(ref) }, body: run })));
  }

  // ---- any route ----

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
    if (!response.ok) throw new PondApiError(problemFrom(response, await response.text()));
    return response;
  }

  private async unwrap<T>(answer: Answer<T>): Promise<T> {
    if (answer.response.ok) return answer.data as T;
    const error = answer.error;
    throw new PondApiError(problemFrom(answer.response, typeof error === "string" ? error : JSON.stringify(error ?? "")));
  }
}

/** `owner/name@version` as the route's two path parameters. */
function splitRef(ref: string): { owner: string; ref: string } {
  const slash = ref.indexOf("/");
  if (slash < 0) throw new Error(`"${ref}" is not a template reference: use owner/name@version`);
  return { owner: ref.slice(0, slash), ref: ref.slice(slash + 1) };
}
