import { z } from "zod";
import { NetworkSpec } from "./egress.ts";
import { JobLabels } from "./labels.ts";
import { parseImageReference } from "./imageReference.ts";
import { RegistryAuth, RegistryPassword } from "./registryAuth.ts";
import { RESULT_MARGIN_S } from "./deadlines.ts";
import { checkpointLimits, jobLimits as L } from "./limits.ts";
import { weiString } from "./wei.ts";
import { VerifySpec } from "./verification.ts";
import { WebhookEventsFilter } from "./webhookEvents.ts";

const utf8Bytes = (value: string) => new TextEncoder().encode(value).length;

/** A path inside the job's /inputs or /outputs folder: relative, no `..`. */
export const RelativePath = z
  .string()
  .min(1)
  .max(L.maxPathLength)
  .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "must be a relative path of letters, digits, '.', '_', '-' and '/'")
  .refine((path) => !path.split("/").some((part) => part === "." || part === ".."), "must not contain '.' or '..' segments");

export const ImageRef = z
  .string()
  .max(L.maxImageLength)
  .refine((image) => parseImageReference(image) !== undefined, "must be a Docker image reference such as \"ghcr.io/org/model:1.2\"")
  .meta({ example: "ghcr.io/pond/example:latest" });

export const Resources = z
  .object({
    gpus: z.int().min(0).max(L.maxGpus),
    gpu_vram_mb: z.int().min(1).max(L.maxGpuVramMb).optional().meta({ description: "VRAM every assigned GPU must have" }),
    gpu_models: z.array(z.string().min(1).max(128)).min(1).max(16).optional().meta({ description: "Accept only these GPU models (substring match, case-insensitive)" }),
    cpus: z.number().min(L.minCpus).max(L.maxCpus),
    memory_mb: z.int().min(L.minMemoryMb).max(L.maxMemoryMb),
  })
  .strict()
  .refine((r) => r.gpus > 0 || (r.gpu_vram_mb === undefined && r.gpu_models === undefined), {
    message: "gpu_vram_mb and gpu_models need gpus > 0",
    path: ["gpus"],
  });
export type Resources = z.infer<typeof Resources>;

// `__proto__` would be dropped by the record it keys (and by every JavaScript object after it), never set.
export const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, "must be a shell-style variable name")
  .refine((name) => name !== "__proto__", "must not be __proto__");

const GPU_VARIABLE = /^NVIDIA_/i;
const GPU_VARIABLE_RULE = "must not start with NVIDIA_: the provider sets those itself, so a job sees only the GPUs it was given";

export const Env = z
  // A container's runtime refuses a variable holding NUL, quoting it whole in its error: refused here, saying why.
  .record(EnvName, z.string().refine((value) => !value.includes("\0"), "must not contain a NUL character"))
  .refine((env) => Object.keys(env).length <= L.maxEnvVars, `must have at most ${L.maxEnvVars} variables`)
  .refine(
    (env) => Object.entries(env).reduce((sum, [k, v]) => sum + utf8Bytes(k) + utf8Bytes(v) + 2, 0) <= L.maxEnvBytes,
    `must total at most ${L.maxEnvBytes} bytes`,
  )
  // NVIDIA_VISIBLE_DEVICES and its kin decide which GPUs a container sees: the provider
  // sets them, never the job. Checked on the record (not the key schema) so the 422 says why.
  .superRefine((env, ctx) => {
    for (const name of Object.keys(env)) {
      if (GPU_VARIABLE.test(name)) ctx.addIssue({ code: "custom", path: [name], message: GPU_VARIABLE_RULE });
    }
  });

/**
 * The names of the job's secret variables (a model hub's token, say): set in its container like `env`, but their
 * values come beside the spec (`secret_values`), are kept sealed, go only to the provider that runs the job, and are
 * never shown again. Signed as names only.
 */
export const SecretNames = z
  .array(EnvName.refine((name) => !GPU_VARIABLE.test(name), GPU_VARIABLE_RULE))
  .min(1)
  .max(L.maxSecrets)
  .refine((names) => new Set(names).size === names.length, "must not name a variable twice");

/**
 * The values of a spec's `secrets`, by name: at least 4 characters (the log masks each value; a shorter one would
 * mask ordinary words) and no control characters (no secret needs them, and an engine's error would quote one whole).
 */
export const SecretValues = z
  .record(
    EnvName,
    z
      .string()
      .min(L.minSecretChars, `must be at least ${L.minSecretChars} characters`)
      .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), "must not contain control characters")
      .refine((value) => utf8Bytes(value) <= L.maxSecretBytes, `must be at most ${L.maxSecretBytes} bytes`),
  )
  .refine((values) => Object.keys(values).length <= L.maxSecrets, `must have at most ${L.maxSecrets} values`);
export type SecretValues = z.infer<typeof SecretValues>;

export const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64").refine((s) => s.length % 4 === 0, "must be base64 (length a multiple of 4)");

export const InlineInput = z.object({ path: RelativePath, data_base64: Base64 }).strict();
export type InlineInput = z.infer<typeof InlineInput>;

/** The bytes a valid base64 string decodes to. */
export const decodedLength = (b64: string) => (b64.length / 4) * 3 - (b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0);

export const Inputs = z
  .array(InlineInput)
  .max(L.maxInputFiles)
  .refine((inputs) => new Set(inputs.map((i) => i.path)).size === inputs.length, "must not repeat a path")
  .refine((inputs) => inputs.reduce((sum, i) => sum + decodedLength(i.data_base64), 0) <= L.maxInputBytes, `must total at most ${L.maxInputBytes} bytes decoded`);

/** A Pond job id as the API makes them (`job_` and base32): what an input may name as its source. */
export const SourceJobId = z.string().max(64).regex(/^job_[0-9a-z]{1,60}$/, "must be a Pond job id such as job_3k9x…");

/** Another job's output, named by its job and its path in that job's /outputs. */
export const InputSource = z
  .object({
    job: SourceJobId.meta({ description: "An earlier job of yours" }),
    output: RelativePath.meta({ description: "The output's path in that job's /outputs (its manifest's path)" }),
  })
  .strict()
  .meta({ id: "InputSource" });
export type InputSource = z.infer<typeof InputSource>;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a lower-case hex sha256");

/**
 * A file that travels beside the spec, named by size and sha256 so the creator's
 * signed authorization covers its bytes: the provider checks every one before the
 * container starts. It comes from the creator (peer to peer, or through the R2
 * relay), or, with `from`, from an earlier job's outputs (docs/creators.md,
 * "Pipelines"): then size and sha256 are those of that output in its job's manifest,
 * and may be left out only while that job has not finished.
 */
export const InputFile = z
  .object({
    path: RelativePath,
    size: z.int().min(0).max(L.maxInputFilesBytes).optional(),
    sha256: Sha256.optional(),
    from: InputSource.optional(),
  })
  .strict()
  .superRefine((file, ctx) => {
    const pinned = file.size !== undefined && file.sha256 !== undefined;
    if (file.from === undefined && !pinned) {
      for (const key of ["size", "sha256"] as const) {
        if (file[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: "is required (only an entry that names another job's output with `from` may leave size and sha256 out, while that job runs)" });
      }
    } else if (file.from !== undefined && !pinned && (file.size !== undefined || file.sha256 !== undefined)) {
      ctx.addIssue({ code: "custom", path: [file.size === undefined ? "size" : "sha256"], message: "give both size and sha256 of the source job's output, or neither while that job runs" });
    }
  })
  .meta({
    id: "InputFile",
    description:
      "A file the job finds at /inputs/<path>, checked against size and sha256 before it starts. Without `from` it comes from you (peer to peer, or the relay) and size and sha256 are required. " +
      "With `from` it is an output of an earlier job of yours, fetched by the provider from where that job left it: size and sha256 must be that output's (GET /v1/jobs/{id} `output`) once that job has succeeded, " +
      "and may be left out only while it has not finished. Then your signature covers the reference, and the bytes are fixed by that job's own signed result: its provider's EIP-712 JobResult signature over its manifest's hash, which names every output's sha256. " +
      "The job waits in `queued` until that job succeeds (its match window starts then) and fails, saying why, if it does not.",
  });
export type InputFile = z.infer<typeof InputFile>;

/** An input file whose bytes are known: as the provider receives it (an entry with `from` filled in from its source's manifest). */
export const ResolvedInputFile = z
  .object({ path: RelativePath, size: z.int().min(0).max(L.maxInputFilesBytes), sha256: Sha256, from: InputSource.optional() })
  .strict()
  .meta({ id: "ResolvedInputFile" });
export type ResolvedInputFile = z.infer<typeof ResolvedInputFile>;

export function isResolvedInputFile(file: InputFile): file is InputFile & ResolvedInputFile {
  return file.size !== undefined && file.sha256 !== undefined;
}

/** The spec's input files, every one with its bytes known; throws naming one that is not (the API offers only resolved specs). */
export function resolvedInputFiles(spec: Pick<JobSpec, "input_files">): ResolvedInputFile[] {
  const files = spec.input_files ?? [];
  const open = files.find((file) => !isResolvedInputFile(file));
  if (open) throw new Error(`input file "${open.path}" has no size and sha256 (its job ${open.from?.job ?? "?"} had not finished): this spec is not one to run yet`);
  return files.filter(isResolvedInputFile);
}

/** Entries the creator brings (no `from`): what the relay and the creator's peer serve. */
export function creatorInputFiles(files: readonly InputFile[] | undefined): ResolvedInputFile[] {
  return (files ?? []).filter((file) => file.from === undefined).filter(isResolvedInputFile);
}

/** The distinct jobs a spec's input files come from, in the order first named. */
export function sourceJobsOf(spec: Pick<JobSpec, "input_files">): string[] {
  return [...new Set((spec.input_files ?? []).flatMap((file) => (file.from ? [file.from.job] : [])))];
}

export const InputFiles = z
  .array(InputFile)
  .max(L.maxInputFileEntries)
  .refine((files) => new Set(files.map((f) => f.path)).size === files.length, "must not repeat a path")
  .refine((files) => files.reduce((sum, f) => sum + (f.size ?? 0), 0) <= L.maxInputFilesBytes, `must total at most ${L.maxInputFilesBytes} bytes`)
  .refine((files) => new Set(files.flatMap((f) => (f.from ? [f.from.job] : []))).size <= L.maxSourceJobs, `must come from at most ${L.maxSourceJobs} distinct jobs (from.job); pack the outputs of many jobs into fewer inputs`);

/** Paths named both inline (`inputs`) and as `input_files`, or one inside the other: a spec with any is refused. */
export function overlappingInputPaths(spec: Pick<JobSpec, "inputs" | "input_files">): string[] {
  const inline = (spec.inputs ?? []).map((input) => input.path);
  const files = (spec.input_files ?? []).map((file) => file.path);
  const clash = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
  return files.filter((file) => inline.some((path) => clash(file, path)));
}

export const Cmd = z
  .array(z.string().max(4096))
  .min(1)
  .max(L.maxCmdArgs)
  .refine((cmd) => cmd.reduce((sum, arg) => sum + utf8Bytes(arg), 0) <= L.maxCmdBytes, `must total at most ${L.maxCmdBytes} bytes`);

/** Checkpoints (protocol/checkpoint.ts): here, not there, since a checkpoint's files are manifest entries and the manifest's paths come from this module. */
export const CheckpointSpec = z
  .object({
    interval_s: z
      .int()
      .min(checkpointLimits.minIntervalS)
      .max(checkpointLimits.maxIntervalS)
      .optional()
      .meta({ description: `Seconds between two saves of /outputs/checkpoint by the provider (default ${checkpointLimits.defaultIntervalS}; at least ${checkpointLimits.minIntervalS}, at most ${checkpointLimits.maxIntervalS})` }),
  })
  .strict()
  .meta({
    id: "CheckpointSpec",
    description:
      "The job saves its state in /outputs/checkpoint (POND_CHECKPOINT_DIR); its provider saves what is there every interval_s. Should the job be requeued (its provider lost), " +
      "the next provider puts the latest saved checkpoint back in /outputs/checkpoint before the job starts, so it can go on from there. Write each file under a temporary name and rename it into place: " +
      "a file that changes while it is read is left for the next save.",
  });
export type CheckpointSpec = z.infer<typeof CheckpointSpec>;

export const JobSpec = z
  .object({
    image: ImageRef,
    cmd: Cmd.optional(),
    env: Env.optional(),
    secrets: SecretNames.optional().meta({
      description: "Names of secret variables, set in the container like `env`; their values go in the request's `secret_values`, are stored sealed, reach only the provider that runs the job, and are never returned",
      example: ["HF_TOKEN"],
    }),
    inputs: Inputs.optional(),
    input_files: InputFiles.optional().meta({
      description:
        "Files mounted read-only under /inputs, each checked against its sha256 before the job starts: moved peer to peer from the creator (or through the API's relay), or, with `from`, fetched by the provider from an earlier job's outputs (see InputFile)",
    }),
    resources: Resources,
    timeout_s: z.int().min(L.minTimeoutS).max(L.maxTimeoutS),
    match_timeout_s: z.int().min(1).max(L.maxMatchTimeoutS).optional().meta({ description: `Seconds to wait for a provider before failing (default ${L.defaultMatchTimeoutS})` }),
    max_price_wei: weiString,
    network: NetworkSpec.optional(),
    registry_auth: RegistryAuth.optional(),
    verify: VerifySpec.optional(),
    checkpoint: CheckpointSpec.optional(),
  })
  .strict();
export type JobSpec = z.infer<typeof JobSpec>;

/**
 * The creator's EIP-712 JobAuthorization (protocol/eip712.ts) over this spec:
 * what lets the job be paid from their on-chain escrow. `job_key` becomes the
 * job's id on chain; `deadline` (unix seconds) is the latest a result may be reported.
 * The descriptions are the API's documentation of what to sign: specHashOf
 * (protocol/eip712.ts) computes it; its canonical JSON is RFC 8785's for any JSON value.
 */
export const JobAuthorizationInput = z
  .object({
    job_key: z.string().regex(/^0x[0-9a-f]{64}$/, "must be a random 0x-prefixed 32-byte lower-case hex string").meta({
      description: "32 random bytes, lower-case hex: the job's id on chain, signed as `jobId`",
    }),
    deadline: z.int().positive().meta({
      description:
        "Unix seconds, signed as `deadline`: the latest a result may be reported on chain. " +
        `It must be at least now + match_timeout_s (default ${L.defaultMatchTimeoutS}) + timeout_s + ${RESULT_MARGIN_S} s (for the result to reach the chain), and at most 30 days from now.`,
    }),
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte 0x-prefixed hex signature").meta({
      description: "The 65-byte signature of the API key's own account over the JobAuthorization, 0x-prefixed hex",
    }),
  })
  .strict()
  .meta({
    description:
      "Required where jobs settle on chain. The EIP-712 typed data `JobAuthorization(bytes32 jobId, bytes32 specHash, uint256 maxPrice, uint64 deadline, bool tolerant)`, under the `eip712_domain` GET /v1/chain gives: " +
      "`jobId` is `job_key`; `maxPrice` is `max_price_wei`; `deadline` is `deadline`; `tolerant` is true exactly when the spec's `verify.mode` is `tolerant` (a challenge is then judged by the mediator's verdict, not by comparing result hashes); " +
      "`specHash` is keccak256 of the UTF-8 bytes of the job spec in RFC 8785 (JCS) canonical JSON " +
      "(sorted keys, no whitespace). The spec is this request body without `webhook`, `webhook_events_filter`, `authorization`, `secret_values`, `registry_password` and `labels`; for a template run, it is the `spec` that " +
      "POST /v1/templates/{owner}/{ref}/resolve returns for the same run.",
  });
export type JobAuthorizationInput = z.infer<typeof JobAuthorizationInput>;

/** The body of `POST /v1/jobs`: the spec plus where to announce its progress. */
export const CreateJobRequest = JobSpec.extend({
  webhook: z.url({ protocol: /^https?$/ }).max(2048).optional(),
  webhook_events_filter: WebhookEventsFilter.optional(),
  authorization: JobAuthorizationInput.optional(),
  secret_values: SecretValues.optional().meta({
    description: "The values of the spec's `secrets`, one for each name and no other; not part of the signed spec, stored sealed, and never returned",
    example: { HF_TOKEN: "hf_…" },
  }),
  registry_password: RegistryPassword.optional().meta({
    description: "The password or token for the spec's `registry_auth` user; not part of the signed spec, stored sealed, sent only to the provider that runs the job (never into its container), and never returned",
  }),
  labels: JobLabels.optional(),
})
  .strict()
  .meta({ id: "CreateJobRequest" });
export type CreateJobRequest = z.infer<typeof CreateJobRequest>;

/** The spec a create request carries, which its authorization signs: the body without where to announce, the authorization, the secrets' values, the registry's password and the labels. */
export function specOfRequest(request: CreateJobRequest): JobSpec {
  const { webhook: _webhook, webhook_events_filter: _filter, authorization: _authorization, secret_values: _secrets, registry_password: _password, labels: _labels, ...spec } = request;
  return spec;
}

/**
 * The body of `POST /v1/jobs` that runs a template instead of a spec. The API resolves
 * it into a spec first (POST /v1/templates/…/resolve shows the same spec, for signing
 * its authorization); the job records the exact version it came from.
 */
export const CreateTemplateJobRequest = CreateJobRequest.pick({ webhook: true, webhook_events_filter: true, authorization: true, secret_values: true, labels: true })
  .extend({
    template: z.string().min(1).max(200).meta({ description: "owner/name@version, or owner/name@latest", example: "pond/echo@1.0.0" }),
    params: z.record(z.string(), z.union([z.string().max(4096), z.number(), z.boolean()])).optional().meta({ description: "Values for the template's parameters" }),
    max_price_wei: weiString.optional().meta({ description: "Your own price ceiling instead of the template's default" }),
    input_files: InputFiles.optional().meta({ description: "Files this run brings, found by the job under /inputs as with a spec's input_files (e.g. pond/checksum's)" }),
  })
  .strict()
  .meta({ id: "CreateTemplateJobRequest" });
export type CreateTemplateJobRequest = z.infer<typeof CreateTemplateJobRequest>;

/** What is wrong between a spec's `secrets` and the values sent for them, as 422 details; empty when they match. */
export function secretValueProblems(spec: JobSpec, values: SecretValues | undefined): Array<{ path: string; message: string }> {
  const names = spec.secrets ?? [];
  const given = Object.keys(values ?? {});
  return [
    ...names.filter((name) => !given.includes(name)).map((name) => ({ path: `secret_values.${name}`, message: "is missing: every name in secrets needs its value" })),
    ...given.filter((name) => !names.includes(name)).map((name) => ({ path: `secret_values.${name}`, message: "is not named in the spec's secrets" })),
    ...names.filter((name) => Object.hasOwn(spec.env ?? {}, name)).map((name) => ({ path: `env.${name}`, message: "is also a secret: name it in env or in secrets, not both" })),
  ];
}
