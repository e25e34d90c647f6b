// A template version plus a creator's parameter values makes a job spec. Pure:
// the values are checked against the template's parameter schema (defaults
// applied), substituted into the command and environment as whole strings (no
// shell ever sees them), and the result must be a valid job spec like any other.
import { z } from "zod";
import { JobSpec } from "../../protocol/jobSpec.ts";
import { PLACEHOLDER, type ParamValues, type TemplateDefinition } from "../../protocol/template.ts";
import { fieldErrors } from "../errors/validation.ts";
import type { FieldError } from "../errors/problem.ts";

export type Resolution = { ok: true; spec: JobSpec } | { ok: false; errors: FieldError[] };

export interface RunChoices {
  params?: ParamValues;
  /** The creator's own ceiling, instead of the template's default. */
  maxPriceWei?: string;
}

export function resolveTemplate(definition: TemplateDefinition, choices: RunChoices): Resolution {
  // The published schema is ours (checked at publish); extra keys are always refused.
  const schema = z.fromJSONSchema({ ...definition.params, additionalProperties: false });
  const parsed = schema.safeParse(choices.params ?? {});
  if (!parsed.success) return { ok: false, errors: prefixed(fieldErrors(parsed.error), "params") };
  const values = parsed.data as Record<string, string | number | boolean>;
  const fill = (text: string) => text.replace(PLACEHOLDER, (_whole, name: string) => (values[name] === undefined ? "" : String(values[name])));

  const spec = JobSpec.safeParse({
    image: definition.image,
    ...(definition.cmd ? { cmd: definition.cmd.map(fill) } : {}),
    ...(definition.env ? { env: Object.fromEntries(Object.entries(definition.env).map(([key, value]) => [key, fill(value)])) } : {}),
    ...(definition.secrets ? { secrets: definition.secrets } : {}),
    resources: definition.resources,
    timeout_s: definition.timeout_s,
    ...(definition.match_timeout_s !== undefined ? { match_timeout_s: definition.match_timeout_s } : {}),
    max_price_wei: choices.maxPriceWei ?? definition.default_max_price_wei,
    ...(definition.network ? { network: definition.network } : {}),
    ...(definition.verify ? { verify: definition.verify } : {}),
    ...(definition.checkpoint ? { checkpoint: definition.checkpoint } : {}),
  });
  // Within the template's declared bounds, values can still push the spec past the API's (e.g. a huge argument).
  if (!spec.success) return { ok: false, errors: prefixed(fieldErrors(spec.error), "spec") };
  return { ok: true, spec: spec.data };
}

function prefixed(errors: FieldError[], prefix: string): FieldError[] {
  return errors.map((error) => ({ ...error, path: error.path === "(body)" ? prefix : `${prefix}.${error.path}` }));
}
