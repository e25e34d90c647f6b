// What `pond run` sends: the create request of an image run, or a template run's
// choices, built from the command line and checked here, so a mistake is a
// message saying what to fix rather than the API's 422.
import { JobSpec, specOfRequest, type CreateJobRequest, type InputFile } from "../protocol/jobSpec.ts";
import { JobLabels } from "../protocol/labels.ts";
import { checkpointLimits, MAX_BODY_BYTES } from "../protocol/limits.ts";
import type { Template } from "../protocol/template.ts";
import type { PondClient, TemplateRunChoices } from "../sdk/index.ts";
import { pairs } from "./context.ts";
import { UsageError } from "./errors.ts";
import { registryPasswordOf, secretNamesOf, secretValuesOf } from "./secretArguments.ts";

/** A request made to create a job, or only to quote it: a quote carries the secrets' names, never their values. */
export type RequestPurpose = "create" | "quote";

/** Flags whose values a template fixes, by their option names: given with a template, they would be ignored. */
export const TEMPLATE_FIXED_FLAGS = { gpus: "--gpus", vram: "--vram", gpuModel: "--gpu-model", cpus: "--cpus", memory: "--memory", timeout: "--timeout", env: "--env", allowHost: "--allow-host", checkpointEvery: "--checkpoint-every", registryUser: "--registry-user" } as const;
export type TemplateFixedFlag = keyof typeof TEMPLATE_FIXED_FLAGS;

export interface RunOptions {
  image?: string;
  param?: string[];
  gpus: number;
  vram?: number;
  gpuModel?: string[];
  cpus: number;
  memory: number;
  timeout: number;
  maxPrice?: string;
  env?: string[];
  secret?: string[];
  allowHost?: string[];
  registryUser?: string;
  checkpointEvery?: number;
  label?: string[];
  webhook?: string;
  output?: string;
  input?: string[];
  detach?: boolean;
  dryRun?: boolean;
  wait: boolean;
}

/** What createPaidJob adds to the request: the EIP-712 authorization and its fields. */
const AUTHORIZATION_MARGIN_BYTES = 2048;

/** The create request of an image run, checked as the API would check its spec. */
export function imageRequest(cmd: string[], options: RunOptions, inputFiles?: InputFile[], purpose: RequestPurpose = "create"): CreateJobRequest {
  if (options.param?.length) throw new UsageError("-p sets a template's parameters: give a template ref instead of --image, or pass the values with --env");
  const every = options.checkpointEvery;
  if (every !== undefined && (every < checkpointLimits.minIntervalS || every > checkpointLimits.maxIntervalS)) {
    throw new UsageError(`--checkpoint-every is how many seconds between two saves of the job's checkpoint: from ${checkpointLimits.minIntervalS} to ${checkpointLimits.maxIntervalS}, not ${every}`);
  }
  const secrets = purpose === "create" ? secretValuesOf(options.secret) : undefined;
  const secretNames = secretNamesOf(options.secret);
  const request: CreateJobRequest = {
    image: options.image!,
    ...(cmd.length > 0 ? { cmd } : {}),
    ...(options.env ? { env: pairs(options.env, "--env") } : {}),
    ...(secretNames.length ? { secrets: secretNames } : {}),
    ...(secrets ? { secret_values: secrets } : {}),
    ...(inputFiles?.length ? { input_files: inputFiles } : {}),
    resources: {
      gpus: options.gpus,
      cpus: options.cpus,
      memory_mb: options.memory,
      ...(options.vram ? { gpu_vram_mb: options.vram } : {}),
      ...(options.gpuModel?.length ? { gpu_models: options.gpuModel } : {}),
    },
    timeout_s: options.timeout,
    max_price_wei: options.maxPrice ?? "1000000000000000",
    ...(options.webhook ? { webhook: options.webhook } : {}),
    ...(options.allowHost?.length ? { network: { allow: options.allowHost } } : {}),
    ...(options.registryUser !== undefined ? { registry_auth: { username: options.registryUser } } : {}),
    ...(options.registryUser !== undefined && purpose === "create" ? { registry_password: registryPasswordOf(options.registryUser) } : {}),
    ...(options.checkpointEvery !== undefined ? { checkpoint: { interval_s: options.checkpointEvery } } : {}),
    ...(options.label?.length ? { labels: checkedLabels(pairs(options.label, "--label")) } : {}),
  };
  const spec = JobSpec.safeParse(specOfRequest(request));
  if (!spec.success) throw new UsageError(spec.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n"));
  refuseOversizedRequest(request, inputFiles);
  return request;
}

/** A job's labels, checked as the API checks them, so a mistake names the flag. */
export function checkedLabels(labels: Record<string, string>): Record<string, string> {
  const checked = JobLabels.safeParse(labels);
  if (!checked.success) throw new UsageError(`--label: ${checked.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`.trim()).join("; ")}`);
  return checked.data;
}

/** What a quote asks: the create's request, less where its webhooks would go (nothing is created to send them). */
export function quoteOf<T extends { webhook?: string | undefined }>(request: T): T {
  const { webhook: _webhook, ...asked } = request;
  // Still a T: its webhook is optional.
  return asked as T;
}

/** Two inputs that would land at one /inputs path: a local one and another job's output, or two jobs' outputs. */
export function refuseRepeatedInputPaths(files: readonly InputFile[]): void {
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new UsageError(`two --input values land at /inputs/${file.path}: keep one (or rename the local one)`);
    seen.add(file.path);
  }
}

/** The API reads at most MAX_BODY_BYTES; the authorization adds well under the margin. Refused here, saying what to do, rather than by a 413. */
function refuseOversizedRequest(request: object, inputFiles: InputFile[] | undefined): void {
  const bytes = new TextEncoder().encode(JSON.stringify(request)).byteLength + AUTHORIZATION_MARGIN_BYTES;
  if (bytes > MAX_BODY_BYTES) {
    const listed = inputFiles?.length ? ` (${inputFiles.length} --input files, each listed with its path and sha256)` : "";
    throw new UsageError(`this job's request would be about ${bytes} bytes${listed}; the API takes at most ${MAX_BODY_BYTES}. Pack many small files into one archive (tar) and send that as the --input`);
  }
}

/** A template run: the exact template (read from the API) and the run's choices, checked against what it declares. */
export async function templateRun(
  sdk: Pick<PondClient, "getTemplate">,
  args: string[],
  options: RunOptions,
  inputFiles: InputFile[] | undefined,
  given: readonly TemplateFixedFlag[],
  purpose: RequestPurpose = "create",
): Promise<{ ref: string; choices: TemplateRunChoices }> {
  const [ref, ...rest] = args;
  if (!ref) throw new UsageError("say what to run: a template (pond run owner/name@1.0.0 -p key=value) or an image (pond run --image busybox -- echo hi)");
  if (rest.length > 0) throw new UsageError(`a template brings its own command; drop "${rest.join(" ")}" or use --image`);
  if (given.length > 0) {
    const flags = given.map((name) => TEMPLATE_FIXED_FLAGS[name]).join(", ");
    throw new UsageError(`a template declares its resources, timeout, environment, network and checkpoints (pond templates show lists them): drop ${flags}, or run its image with --image`);
  }
  const template = await sdk.getTemplate(ref);
  const secrets = templateSecrets(template, options.secret, purpose);
  const choices = {
    params: typedParams(template, pairs(options.param, "-p")),
    ...(secrets ? { secret_values: secrets } : {}),
    ...(options.maxPrice ? { max_price_wei: options.maxPrice } : {}),
    ...(options.webhook ? { webhook: options.webhook } : {}),
    ...(inputFiles?.length ? { input_files: inputFiles } : {}),
    ...(options.label?.length ? { labels: checkedLabels(pairs(options.label, "--label")) } : {}),
  };
  refuseOversizedRequest(choices, inputFiles);
  return { ref: template.ref, choices };
}

/** The values of the secrets a template names, from `--secret`: each one it names, and no other. */
function templateSecrets(template: Pick<Template, "ref" | "secrets">, raw: string[] | undefined, purpose: RequestPurpose): Record<string, string> | undefined {
  const given = secretNamesOf(raw);
  const named = template.secrets ?? [];
  const unknown = given.filter((name) => !named.includes(name));
  if (unknown.length > 0) throw new UsageError(`${template.ref} takes no secret ${unknown.join(", ")}${named.length ? `; it takes ${named.join(", ")}` : "; it takes none"}`);
  const missing = named.filter((name) => !given.includes(name));
  if (missing.length > 0) throw new UsageError(`${template.ref} needs ${missing.map((name) => `--secret ${name}`).join(" ")} (the value from your environment, or NAME=VALUE)`);
  return purpose === "create" ? secretValuesOf(raw) : undefined;
}

/** `-p` values are text; each becomes the type its parameter declares, so "3" reaches an integer as 3. */
export function typedParams(template: Pick<Template, "ref" | "params">, raw: Record<string, string>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [name, text] of Object.entries(raw)) {
    const declared = template.params.properties[name];
    if (!declared) {
      const known = Object.keys(template.params.properties);
      throw new UsageError(`${template.ref} has no parameter "${name}"${known.length ? `; it takes ${known.join(", ")}` : "; it takes none"}`);
    }
    if (declared.type === "string") out[name] = text;
    else if (declared.type === "boolean") {
      if (text !== "true" && text !== "false") throw new UsageError(`-p ${name} must be true or false, got "${text}"`);
      out[name] = text === "true";
    } else {
      const n = Number(text);
      if (text.trim() === "" || !Number.isFinite(n) || (declared.type === "integer" && !Number.isInteger(n))) throw new UsageError(`-p ${name} must be ${declared.type === "integer" ? "a whole number" : "a number"}, got "${text}"`);
      out[name] = n;
    }
  }
  return out;
}

