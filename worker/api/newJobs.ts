// What a create turns a request into, and how it is written: shared by a single
// create (POST /v1/jobs) and a batch (POST /v1/jobs/batch), so both check and
// fund a job the same way.
import type { Context } from "hono";
import { overlappingInputPaths, secretValueProblems, sourceJobsOf } from "../../protocol/jobSpec.ts";
import { unreachableRegistry } from "../../protocol/imageReference.ts";
import { registryPasswordProblems } from "../../protocol/registryAuth.ts";
import { webhookEventTypes } from "../../protocol/webhookEvents.ts";
import { checkApiKeyNow, type BatchedKeyCheck } from "../auth/requireApiKey.ts";
import { admissionOf } from "../bindings/objects.ts";
import type { Admission, PaidJob } from "../chain/admission.ts";
import { fundingFor, isPaid, unsettledFunding } from "../chain/jobFunding.ts";
import { apiErrorFromData, unprocessable } from "../errors/problem.ts";
import type { AppEnv } from "../http/appEnv.ts";
import type { JobContext } from "../jobs/context.ts";
import { insertQueuedJobs, type NewJob } from "../jobs/insert.ts";
import type { JobRow } from "../jobs/serialize.ts";
import { checkInputSources, type CheckedSources } from "../jobs/sourceChecks.ts";
import { sealJobSecrets } from "../security/jobSecrets.ts";
import { randomId } from "../security/randomToken.ts";
import { assertWebhookUrlAllowed, resolveWithDoh, WebhookUrlError } from "../webhooks/urlPolicy.ts";
import type { TemplateFinder } from "../templates/runs.ts";
import { specOf, type CreateJobBody } from "./jobRequestBody.ts";

/** What the jobs of one batch share, read once for all of them. */
export interface SharedReads {
  /** Every webhook URL of the batch was checked already. */
  webhooksChecked?: boolean;
  findTemplate?: TemplateFinder;
}

/** A job ready to write, and what its inputs from other jobs were found to be. */
export interface BuiltJob {
  job: NewJob;
  /** Paid from escrow: admitted against it (where jobs settle on chain, every job is). */
  paid: boolean;
  sources: CheckedSources | undefined;
}

/**
 * A create's request as the row to write: spec (a template resolved), secrets sealed, sources checked, funding
 * (the creator's authorization checked where jobs settle on chain). Refusals are the API's 4xx; nothing is written.
 * `keyCheck`: the API key is checked by the write's own batch, so the account is not known yet.
 */
export async function buildNewJob(c: Context<AppEnv>, request: CreateJobBody, keyCheck: BatchedKeyCheck | undefined, shared: SharedReads = {}): Promise<BuiltJob> {
  if (request.webhook && !shared.webhooksChecked) await checkWebhookUrl(c, request.webhook);
  const config = c.get("config");
  const { webhook, webhook_events_filter, authorization } = request;
  const { spec, template } = await specOf(c.get("db"), request, shared.findTemplate);
  // A template names its secrets (now in the spec); the run brings their values, as a spec's request does.
  const secretValues = request.secret_values;
  const secretProblems = secretValueProblems(spec, secretValues);
  if (secretProblems.length > 0) throw unprocessable(`secret_values must give a value for each name in the spec's secrets, and no other: ${secretProblems.map((p) => `${p.path} ${p.message}`).join("; ")}`, secretProblems);
  // A template run brings no registry password: a template's image is one any runner can pull.
  const registryPassword = "registry_password" in request ? request.registry_password : undefined;
  const registryProblems = registryPasswordProblems(spec, registryPassword);
  if (registryProblems.length > 0) throw unprocessable(`registry_auth and registry_password go together: registry_password ${registryProblems[0]!.message}`, registryProblems);
  // In development a registry on loopback serves the templates' images (npm start); a deployment's providers would refuse it.
  const unreachable = config.isProduction ? unreachableRegistry(spec.image) : undefined;
  if (unreachable) throw unprocessable(`image ${spec.image}: ${unreachable}`, [{ path: "image", message: unreachable }]);
  const overlap = overlappingInputPaths(spec);
  if (overlap.length > 0) throw unprocessable(`input_files and inputs must name different paths; both name ${overlap.slice(0, 5).join(", ")}`, overlap.slice(0, 5).map((path) => ({ path: "input_files", message: `${path} is also an inline input` })));
  // Inputs from other jobs' outputs are checked against those jobs, the caller's own only: the account is needed first.
  let sources: CheckedSources | undefined;
  if (sourceJobsOf(spec).length > 0) {
    await checkApiKeyNow(c);
    sources = await checkInputSources(c.get("db"), c.get("account"), spec);
  }
  const id = randomId("job");
  const createdAt = Date.now();
  // Without a key check in the batch, the middleware has checked it (and funding needs the account).
  const funding = keyCheck ? unsettledFunding(id) : await fundingFor({ config, account: c.get("account"), jobId: id, spec, ...(authorization ? { authorization } : {}) });
  const job: NewJob = {
    id,
    ...funding,
    account: keyCheck?.account ?? c.get("account"),
    status: "queued",
    spec,
    webhook: webhook ?? null,
    webhookEventsFilter: webhook_events_filter ?? [...webhookEventTypes],
    labels: request.labels && Object.keys(request.labels).length > 0 ? request.labels : null,
    template,
    createdAt,
    sealedSecrets: await sealJobSecrets(config.secretsKey, { ...(secretValues ? { secrets: secretValues } : {}), ...(registryPassword !== undefined ? { registry_password: registryPassword } : {}) }),
    // Known now when every source has succeeded; else the job waits, saying for what.
    ...(sources ? { resolvedInputFiles: sources.resolved, inputsReadyAt: sources.resolved ? createdAt : null, statusDetail: sources.waitingDetail } : {}),
  };
  return { job, paid: isPaid(funding), sources };
}

/** A webhook's URL, allowed or refused with a 422 naming it. Its host is looked up in DNS: only for a caller whose key is good. */
export async function checkWebhookUrl(c: Context<AppEnv>, url: string): Promise<void> {
  await checkApiKeyNow(c);
  try {
    await assertWebhookUrlAllowed(url, { isProduction: c.get("config").isProduction, resolve: resolveWithDoh });
  } catch (error) {
    if (error instanceof WebhookUrlError) throw unprocessable(error.message, [{ path: "webhook", message: error.message }]);
    throw error;
  }
}

/**
 * Writes one create's jobs, all of them or none. Paid ones are checked against the escrow together and written by
 * their creator's admission object, one create at a time; the rest in one batch with `keyCheck`'s touch.
 */
export async function writeNewJobs(c: Context<AppEnv>, ctx: JobContext, built: readonly BuiltJob[], keyCheck: BatchedKeyCheck | undefined): Promise<JobRow[]> {
  const jobs = built.map(({ job }) => job);
  if (!built.some(({ paid }) => paid)) return insertQueuedJobs(ctx, jobs, keyCheck ? [keyCheck.touch] : []);
  // Typed back from the stub's: RPC typing drops a row whose JSON columns are `unknown`, though they clone as they are.
  const admission = (await admissionOf(c.env, c.get("account")).admit(jobs as PaidJob[], c.get("baseUrl"))) as unknown as Admission;
  if (!admission.admitted) throw apiErrorFromData(admission.refusal);
  return admission.rows;
}
