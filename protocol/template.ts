// Job templates ("modules"): a named, immutable version of a job someone else
// packaged, `owner/name@1.2.0`. The command and environment may hold `{{param}}`
// placeholders; the parameters are declared as a small JSON Schema, so a creator
// (or a form) knows what to pass, and the API checks it before the job exists.
import { z } from "zod";
import { NetworkSpec } from "./egress.ts";
import { CheckpointSpec, Cmd, CreateTemplateJobRequest, Env, ImageRef, JobSpec, Resources, SecretNames } from "./jobSpec.ts";
import { parseImageReference } from "./imageReference.ts";
import { jobLimits as L } from "./limits.ts";
import { weiString } from "./wei.ts";
import { VerifySpec } from "./verification.ts";

/** `owner/name`: the owner is a namespace claimed by the first account to publish in it. */
export const TemplateName = z
  .string()
  .max(104)
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,38})\/[a-z0-9](?:[a-z0-9._-]{0,63})$/, 'must be "owner/name" in lower-case letters, digits and - (name may also hold . and _), e.g. "pond/echo"');

/** Semantic Versioning 2.0 (semver.org's own pattern). */
export const SemVer = z
  .string()
  .max(64)
  .regex(
    /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/,
    'must be a semantic version such as "1.2.0"',
  );

export interface TemplateRef {
  name: string;
  /** A version, or "latest": the newest version published. */
  version: string;
}

/** `owner/name@1.2.0` or `owner/name@latest` (a bare `owner/name` means latest). */
export function parseTemplateRef(ref: string): TemplateRef | undefined {
  const at = ref.lastIndexOf("@");
  const name = at < 0 ? ref : ref.slice(0, at);
  const version = at < 0 ? "latest" : ref.slice(at + 1);
  if (!TemplateName.safeParse(name).success) return undefined;
  if (version !== "latest" && !SemVer.safeParse(version).success) return undefined;
  return { name, version };
}

export const formatTemplateRef = (ref: TemplateRef) => `${ref.name}@${ref.version}`;

/** Orders semantic versions (precedence as semver.org defines it; build metadata ignored). */
export function compareSemVer(a: string, b: string): number {
  const split = (v: string) => {
    const [core, pre] = v.split("+")[0]!.split(/-(.*)/s);
    return { core: core!.split(".").map(Number), pre: pre === undefined ? [] : pre.split(".") };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i]! - y.core[i]!;
  // A pre-release comes before its release.
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const [p, q] = [x.pre[i]!, y.pre[i]!];
    if (p === q) continue;
    const [pn, qn] = [/^\d+$/.test(p), /^\d+$/.test(q)];
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return x.pre.length - y.pre.length;
}

const ParamName = z.string().regex(/^[a-z_][a-z0-9_]{0,63}$/, "must be a lower-case identifier (a-z, 0-9, _)");
const description = z.string().max(500).optional();

/** One parameter: a scalar, with the JSON Schema keywords a form and a validator need. */
export const ParamSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("string"),
      description,
      default: z.string().max(4096).optional(),
      enum: z.array(z.string().max(4096)).min(1).max(100).optional(),
      pattern: z.string().max(256).optional(),
      minLength: z.int().min(0).optional(),
      maxLength: z.int().min(0).max(4096).optional(),
    })
    .strict(),
  z.object({ type: z.literal("integer"), description, default: z.int().optional(), minimum: z.int().optional(), maximum: z.int().optional() }).strict(),
  z.object({ type: z.literal("number"), description, default: z.number().optional(), minimum: z.number().optional(), maximum: z.number().optional() }).strict(),
  z.object({ type: z.literal("boolean"), description, default: z.boolean().optional() }).strict(),
]);
export type ParamSchema = z.infer<typeof ParamSchema>;

/** The parameters, as a JSON Schema object (draft 2020-12) of scalar properties. */
export const ParamsSchema = z
  .object({
    type: z.literal("object"),
    properties: z.record(ParamName, ParamSchema).refine((p) => Object.keys(p).length <= 32, "must declare at most 32 parameters"),
    required: z.array(ParamName).max(32).optional(),
    additionalProperties: z.literal(false).optional(),
  })
  .strict()
  .superRefine((schema, ctx) => {
    for (const name of schema.required ?? []) {
      if (!(name in schema.properties)) ctx.addIssue({ code: "custom", path: ["required"], message: `requires ${name}, which is not a declared property` });
    }
    for (const [name, param] of Object.entries(schema.properties)) {
      if (param.type === "string" && param.pattern !== undefined && !isRegex(param.pattern)) {
        ctx.addIssue({ code: "custom", path: ["properties", name, "pattern"], message: "must be a valid regular expression" });
      }
    }
  })
  .meta({ id: "TemplateParams", description: "A JSON Schema object of scalar parameters" });
export type ParamsSchema = z.infer<typeof ParamsSchema>;

function isRegex(pattern: string): boolean {
  try {
    new RegExp(pattern, "u");
    return true;
  } catch {
    return false;
  }
}

/** `{{name}}` in the command or environment is replaced by the parameter's value. */
export const PLACEHOLDER = /\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}/g;

const PinnedImage = ImageRef.refine((image) => parseImageReference(image)?.digest !== undefined, 'must be pinned by digest, e.g. "ghcr.io/org/model@sha256:…": a published version never changes');

/** What an author publishes. */
export const TemplateDefinition = z
  .object({
    name: TemplateName,
    version: SemVer,
    description: z.string().min(1).max(500),
    image: PinnedImage,
    cmd: Cmd.optional(),
    env: Env.optional(),
    /** Secret variables every run must bring its own value for (a model hub's token): the template names them, never holds them. */
    secrets: SecretNames.optional(),
    params: ParamsSchema.default({ type: "object", properties: {} }),
    resources: Resources,
    timeout_s: z.int().min(L.minTimeoutS).max(L.maxTimeoutS),
    match_timeout_s: z.int().min(1).max(L.maxMatchTimeoutS).optional(),
    /** What a run costs at most unless the creator says otherwise. */
    default_max_price_wei: weiString,
    /** Hosts every run may reach (a model hub, say): part of each run's spec, so the creator's signature covers it. */
    network: NetworkSpec.optional(),
    /** Same inputs, same outputs: only such jobs can win a challenge judged byte for byte (a mediator re-runs them). */
    deterministic: z.boolean(),
    /** How a challenge compares a run's outputs (protocol/verification.ts): part of each run's spec. */
    verify: VerifySpec.optional(),
    /** Every run saves its state in /outputs/checkpoint and resumes from it after a requeue (protocol/checkpoint.ts). */
    checkpoint: CheckpointSpec.optional(),
  })
  .strict()
  .superRefine((definition, ctx) => {
    const declared = new Set(Object.keys(definition.params.properties));
    const check = (text: string, path: (string | number)[]) => {
      for (const match of text.matchAll(PLACEHOLDER)) {
        if (!declared.has(match[1]!)) ctx.addIssue({ code: "custom", path, message: `uses {{${match[1]}}}, which is not a declared parameter` });
      }
    };
    definition.cmd?.forEach((arg, i) => check(arg, ["cmd", i]));
    for (const [key, value] of Object.entries(definition.env ?? {})) check(value, ["env", key]);
    definition.secrets?.forEach((name, i) => {
      if (Object.hasOwn(definition.env ?? {}, name)) ctx.addIssue({ code: "custom", path: ["secrets", i], message: `${name} is also in env: a variable is a secret or not, not both` });
    });
  })
  .meta({ id: "TemplateDefinition" });
export type TemplateDefinition = z.infer<typeof TemplateDefinition>;
/** What an author writes: `params` may be left out (no parameters). */
export type TemplateDefinitionInput = z.input<typeof TemplateDefinition>;

/** A published version, as the API shows it. */
export const Template = z
  .object({
    ref: z.string().meta({ description: "owner/name@version" }),
    name: TemplateName,
    version: SemVer,
    description: z.string(),
    image: z.string(),
    cmd: z.array(z.string()).nullable(),
    env: z.record(z.string(), z.string()).nullable(),
    secrets: z.array(z.string()).nullable().meta({ description: "Secret variables each run brings a value for in `secret_values` (pond run --secret NAME); null: none" }),
    params: ParamsSchema,
    resources: Resources,
    timeout_s: z.int(),
    match_timeout_s: z.int().nullable(),
    default_max_price_wei: z.string(),
    network: NetworkSpec.nullable().meta({ description: "Hosts every run may reach through its provider's egress proxy; null: none (no network)" }),
    deterministic: z.boolean(),
    verify: VerifySpec.nullable().meta({ description: "How a challenge compares a run's outputs; null: exactly (the same result hash)" }),
    checkpoint: CheckpointSpec.nullable()
      // A default, so a client still reads a template from a server that predates it.
      .default(null)
      .meta({ description: "Whether runs save checkpoints in /outputs/checkpoint, resumed from after a requeue; null: they do not" }),
    owner: z.string().meta({ description: "The account that published it" }),
    created_at: z.string(),
  })
  .meta({ id: "Template" });
export type Template = z.infer<typeof Template>;

export const TemplatePage = z
  .object({ results: z.array(Template), next: z.string().nullable(), previous: z.string().nullable() })
  .meta({ id: "TemplatePage" });

/** Parameter values, by name: scalars only (checked against the template's own schema when it runs). */
export type ParamValues = NonNullable<CreateTemplateJobRequest["params"]>;

/** What `POST /v1/templates/{owner}/{name}@{version}/resolve` takes: the run's choices, as a template job carries them. */
export const ResolveTemplateRequest = CreateTemplateJobRequest.pick({ params: true, max_price_wei: true, input_files: true }).strict().meta({ id: "ResolveTemplateRequest" });

export const ResolvedTemplate = z
  .object({ template: z.string().meta({ description: "The exact version resolved (owner/name@1.2.0)" }), spec: JobSpec })
  .meta({ id: "ResolvedTemplate" });
