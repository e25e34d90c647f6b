// How a challenged job's outputs are judged (docs/creators.md, "Choosing how a
// challenge compares outputs"). `exact`, the default, is the rule the contract
// has always applied: the mediator's re-run must produce the provider's result
// hash, byte for byte. `tolerant` is for outputs that are numbers or labels and
// differ in their last bits from one machine to the next (floating-point order
// across CPUs, GPUs, drivers, thread counts): each rule names an output path (or
// a glob) and how its two versions are compared; every other output file must
// still be identical. The declaration is part of the spec, so the creator's
// signature covers it, and a tolerant job's authorization says so on chain
// (JobAuthorization.tolerant), so the contract takes the mediator's verdict
// instead of comparing hashes. Pure: the API validates, the mediator and
// `pond verify` compare (protocol/outputComparison.ts).
import { z } from "zod";

/** How many rules a job may declare. */
export const MAX_VERIFY_RULES = 32;
/** Files larger than this are compared byte for byte even where a rule names them: judging must stay cheap. */
export const MAX_TOLERANT_FILE_BYTES = 64 * 1024 * 1024;

const RulePath = z
  .string()
  .min(1)
  .max(256)
  .refine((path) => !path.startsWith("/") && !path.split("/").includes(".."), "must be a path relative to /outputs, without '..'")
  .meta({ description: "An output path relative to /outputs, or a glob of them (`*` within a name, `**` across folders), e.g. `metrics.json`, `preds/*.csv`" });

// No defaults filled in by parsing: the spec is hashed as the creator wrote it (protocol/eip712.ts specHashOf).
const Tolerance = {
  rtol: z.number().min(0).max(1).optional().meta({ description: "Relative tolerance (default 0): numbers a and b agree when |a − b| ≤ max(rtol·max(|a|, |b|), atol)" }),
  atol: z.number().min(0).optional().meta({ description: "Absolute tolerance (default 0; see rtol)" }),
};

export const VerifyRule = z.discriminatedUnion("format", [
  z
    .object({ path: RulePath, format: z.literal("json"), ...Tolerance })
    .strict()
    .meta({ description: "JSON documents of the same shape (keys, array lengths, strings, booleans and nulls equal) whose numbers agree within the tolerance" }),
  z
    .object({ path: RulePath, format: z.literal("csv"), ...Tolerance })
    .strict()
    .meta({ description: "Comma-separated tables of the same rows and columns: cells that are numbers in both agree within the tolerance, every other cell is equal" }),
  z
    .object({
      path: RulePath,
      format: z.literal("labels"),
      min_agreement: z.number().gt(0).max(1).meta({ description: "Least share of lines that must be equal, from 0 (exclusive) to 1, e.g. 0.98" }),
    })
    .strict()
    .meta({ description: "One label per line, compared line by line: the files must have as many lines, and at least min_agreement of them equal" }),
  z
    .object({ path: RulePath, format: z.literal("present") })
    .strict()
    .meta({
      description:
        "Only that both runs wrote the file; its bytes are not compared. For outputs no cheap rule can judge and no two machines write alike (a model's weights): judge them through the files that are compared (its metrics, its predictions)",
    }),
]);
export type VerifyRule = z.infer<typeof VerifyRule>;

export const VerifySpec = z
  .discriminatedUnion("mode", [
    z.object({ mode: z.literal("exact") }).strict(),
    z.object({ mode: z.literal("tolerant"), files: z.array(VerifyRule).min(1).max(MAX_VERIFY_RULES) }).strict(),
  ])
  .meta({
    id: "VerifySpec",
    description:
      "How a challenge compares the provider's outputs with the mediator's re-run. `exact` (the default): the same result hash. `tolerant`: each rule's files " +
      "are compared as it says (the first rule whose path matches a file applies), every other file must be identical, and both runs must have the same set of files.",
  });
export type VerifySpec = z.infer<typeof VerifySpec>;

/** Whether a spec's challenge is judged by a mediator's verdict (tolerant) rather than by result hashes (exact). */
export function isTolerant(spec: { verify?: VerifySpec | undefined }): boolean {
  return spec.verify?.mode === "tolerant";
}
