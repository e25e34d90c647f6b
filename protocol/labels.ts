// Labels: the creator's own names for a job (an experiment, a sweep and its point), set
// when it is created and filtered on when listing. They sit beside the spec, not in it:
// the provider never sees them and the authorization does not sign them.
import { z } from "zod";
import { labelLimits as L } from "./limits.ts";

const KEY = /^[A-Za-z0-9][A-Za-z0-9._\/-]*$/;
// No control character (C0, DEL, C1) nor bidirectional override: the set cli/terminalText.ts escapes.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
// A lone surrogate is stored differently in the job's JSON and in the index, and could never be found again.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const LabelKey = z
  .string()
  .min(1)
  .max(L.maxKeyLength)
  .regex(KEY, "must start with a letter or digit and hold only letters, digits, '.', '_', '-' and '/'");

/** Text a person reads back as it was written: at most `max` characters, nothing a terminal would act on. */
export const plainText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !UNSAFE.test(value), "must not contain control characters or bidirectional overrides")
    .refine((value) => !LONE_SURROGATE.test(value), "must be well-formed text (a lone surrogate)");

export const LabelValue = plainText(L.maxValueLength);

export const JobLabels = z
  .record(z.string(), LabelValue)
  // Keys checked here rather than by the record, whose own error would not say what is wrong with one.
  .superRefine((labels, ctx) => {
    for (const key of Object.keys(labels)) {
      const checked = LabelKey.safeParse(key);
      if (!checked.success) ctx.addIssue({ code: "custom", path: [key], message: `key ${JSON.stringify(key.slice(0, 80))} ${checked.error.issues[0]!.message}` });
    }
  })
  .refine((labels) => Object.keys(labels).length <= L.maxLabels, `must have at most ${L.maxLabels} labels`)
  .meta({ id: "JobLabels", description: "The creator's names for the job, filtered on by GET /v1/jobs?label=key=value; not part of the signed spec, never sent to providers", example: { experiment: "digits-lr", "pond.sweep": "swp_4f2a" } });
export type JobLabels = z.infer<typeof JobLabels>;

/** One `label=key=value` filter of a listing: the first '=' ends the key, the value may hold more. */
export const LabelFilter = z.string().transform((text, ctx) => {
  const at = text.indexOf("=");
  const key = LabelKey.safeParse(at < 0 ? text : text.slice(0, at));
  const value = LabelValue.safeParse(at < 0 ? "" : text.slice(at + 1));
  if (at < 0 || !key.success || !value.success) {
    ctx.addIssue({ code: "custom", message: `must be key=value with a label's key (letters, digits, '.', '_', '-', '/'; at most ${L.maxKeyLength}) and value (at most ${L.maxValueLength} characters)` });
    return z.NEVER;
  }
  return { key: key.data, value: value.data };
});
export type LabelFilter = z.output<typeof LabelFilter>;
